"""Bagging: from a folder of files (a crawl's WARCs and tables, or anything) to a BagIt 1.0 bag.

Takes files and bag-info fields; gives a complete bag, built in a staging directory and renamed into
place only when every tag file and manifest is written, so nothing unfinished ever looks like a bag.

- ``build``: making bags (from a crawl's output, or ``cablekeep bag DIR``, copied or in place).
- ``hashing``: reading each file once for all algorithms, on a process pool shared with fixity.
"""

/* cablebrowser-2: open links to originals in a new window; mark references to other cables. */
window.onload = function () {
  var links = document.getElementsByTagName("a");
  for (var i = 0; i < links.length; i++) {
    var href = links[i].getAttribute("href") || "";
    if (href.indexOf("http") === 0) {
      links[i].setAttribute("target", "_blank");
    }
  }
  var pres = document.getElementsByTagName("pre");
  for (var j = 0; j < pres.length; j++) {
    pres[j].title = "Cable text as released";
  }
};

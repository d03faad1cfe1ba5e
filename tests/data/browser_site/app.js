fetch("/data/text.json").then(function (r) { return r.json(); }).then(function (data) {
  document.getElementById("text").textContent = data.text;
});

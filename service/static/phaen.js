/* Conveniences only: every form works without this file. Adds table rows in the page instead of
   a round trip, shows numbers with thousands separators once typed, and keeps Enter from submitting. */
(function () {
  "use strict";
  document.querySelectorAll("[data-rows]").forEach(function (box) {
    var template = box.querySelector(":scope > template");
    var add = box.querySelector(':scope > button[value^="add "]');
    if (!template || !add) return;
    add.addEventListener("click", function (event) {
      event.preventDefault();
      var rows = box.querySelectorAll(":scope > [data-row]");
      var next = 0;
      rows.forEach(function (row) {
        var field = row.querySelector("[name]");
        var match = field && field.name.slice(box.dataset.rows.length).match(/^\/(\d+)/);
        if (match) next = Math.max(next, parseInt(match[1], 10) + 1);
      });
      var html = template.innerHTML.split("/__new__").join("/" + next).split("-__new__").join("-" + next);
      add.insertAdjacentHTML("beforebegin", html);
      var first = add.previousElementSibling.querySelector("input, select, textarea");
      if (first) first.focus();
    });
  });
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("num")) return;
    var value = Number(input.value.replace(/[,\s]/g, ""));
    if (input.value.trim() === "" || !isFinite(value)) return;
    input.value = value.toLocaleString("en-US", input.classList.contains("money")
      ? {minimumFractionDigits: 2, maximumFractionDigits: 2} : {maximumFractionDigits: 10});
  });
  // Enter in a one-line field of a task form does nothing: without this file it saves the draft
  // (the form's first button), and it never completes the step either way
  document.querySelectorAll("form.task-form").forEach(function (form) {
    form.addEventListener("keydown", function (event) {
      var field = event.target;
      if (event.key !== "Enter" || !field.matches || !field.matches("input:not([type=submit]):not([type=button]), select")) return;
      event.preventDefault();
    });
  });
  // a wide flowchart scrolls sideways: bring the step waiting now into view
  document.querySelectorAll(".diagram-scroll").forEach(function (box) {
    var current = box.querySelector(".dlabel.current");
    if (current) box.scrollLeft = Math.max(0, current.offsetLeft - box.clientWidth / 3);
  });
})();

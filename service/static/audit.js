/* Makes the step slider live: every control is a plain link or form without this file. Moving
   the slider, the previous/next links or a history entry fetches that step's panel and swaps it
   in; the address keeps ?step=N so that a reload or a shared link shows the same step. */
(function () {
  "use strict";
  var view = document.getElementById("step-view");
  if (!view || !window.fetch) return;
  var planUrl = view.dataset.planUrl;
  var pending = null, timer = null;

  function show(step) {
    if (pending) pending.abort();
    pending = new AbortController();
    var panel = view.querySelector(".step-panel");
    if (panel) panel.classList.add("loading");
    fetch(planUrl + "/steps/" + step, {signal: pending.signal, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (html) {
        var focused = document.activeElement && document.activeElement.id === "step";
        view.innerHTML = html;
        history.replaceState(null, "", planUrl + "?step=" + step + "#step-view");
        document.querySelectorAll(".audit-timeline li").forEach(function (item) {
          var here = item.querySelector("[data-step]").dataset.step === String(step);
          item.classList.toggle("here", here);
          if (here) item.setAttribute("aria-current", "step"); else item.removeAttribute("aria-current");
        });
        if (focused) document.getElementById("step").focus();
      })
      .catch(function (err) {
        if (err.name !== "AbortError") window.location = planUrl + "?step=" + step + "#step-view";
      });
  }

  view.addEventListener("input", function (event) {
    if (event.target.id !== "step") return;
    document.getElementById("step-number").textContent = event.target.value;
    clearTimeout(timer);
    timer = setTimeout(function () { show(event.target.value); }, 120);
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-step]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    show(link.dataset.step);
    if (!view.contains(link)) view.scrollIntoView({behavior: "smooth", block: "start"});
  });
})();

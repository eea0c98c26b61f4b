// Loaded on every page as <script type="module">, so it runs once the document is parsed.
//
// NHS.UK frontend 10 ships as one ES module; initAll() finds each [data-module="nhsuk-…"] element
// and enhances it (header menu, error summary focus, checkboxes, file upload, …).
import { initAll } from "../vendor/nhsuk-frontend/nhsuk-frontend.min.js";

// NHS.UK frontend enhances components only when <body> says the browser can run it. Its own page
// template sets this class with an inline script, which our Content Security Policy forbids; a
// browser that runs this module supports ES modules, which is the test that inline script makes.
document.body.classList.add("nhsuk-frontend-supported");
initAll();

// htmx fires htmx:load on each element it swaps in (and on <body> at start-up, done above):
// enhance the NHS.UK components inside new content, such as an error summary in a re-rendered form.
document.addEventListener("htmx:load", (event) => {
  if (event.target instanceof Element && event.target !== document.body) {
    initAll(event.target);
  }
});

// ringtrack's pages work without this script; it only makes them quicker to use.
"use strict";

// A select marked data-autosubmit (the business switcher) acts as soon as it changes;
// its form's button is then only needed without script.
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
  const button = select.form.querySelector("button[type=submit]");
  if (button) button.hidden = true;
}

// A transcript's times seek the page's player instead of opening the audio alone.
const player = document.getElementById("player");
if (player) {
  for (const link of document.querySelectorAll("a.seek[data-at]")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      player.currentTime = Number(link.dataset.at);
      player.play();
    });
  }
}

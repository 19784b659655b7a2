// The portal works without this script. With it, a new secret gets a copy
// button, and a confirmation is a modal dialog: the page behind it is
// inert, and Escape cancels.
"use strict";

for (const button of document.querySelectorAll("button[data-copy]")) {
  const value = document.getElementById(button.dataset.copy);
  const status = document.querySelector("[data-copy-status]");
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value.textContent);
      status.textContent = "Copied to the clipboard.";
    } catch {
      // No clipboard here: select the value for the keyboard's copy.
      getSelection().selectAllChildren(value);
      status.textContent = "Press Ctrl+C (⌘C on a Mac) to copy the selected secret.";
    }
  });
}

for (const dialog of document.querySelectorAll("dialog[data-modal]")) {
  dialog.close();
  dialog.showModal();
  dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    location.assign(dialog.dataset.cancel);
  });
}

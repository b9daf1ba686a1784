// The outcome form: amounts only with an action, a reason only when the investigator disagrees.
// The server checks the same rules; this only saves a round trip.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("outcome");
  if (!form) return;
  const action = form.querySelector("#action_type");
  const amounts = [form.querySelector("#detected_sek"), form.querySelector("#prevented_sek")];
  const disagreed = form.querySelector("#disagreed");
  const reason = form.querySelector("#disagreement_reason");
  const update = () => {
    const none = action.value === "none";
    amounts.forEach((input) => { input.disabled = none; if (none) input.value = "0"; });
    reason.required = disagreed.checked;
  };
  action.addEventListener("change", update);
  disagreed.addEventListener("change", update);
  update();
});

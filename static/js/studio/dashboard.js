// Studio dashboard: send the browser's time-zone offset with the schedule, so "20:00" means the
// artist's 20:00 (the form reads it as UTC without JavaScript, and says so).
const form = document.querySelector("[data-stream-form]");
if (form) {
  const offset = form.querySelector("input[name=tz_offset]");
  const help = form.querySelector("#id_scheduled_at_help");
  const setOffset = () => {
    const value = form.querySelector("input[name=scheduled_at]").value;
    // The offset of the chosen date, not today's (daylight saving may differ).
    const when = value ? new Date(value) : new Date();
    offset.value = String(when.getTimezoneOffset());
  };
  form.addEventListener("submit", setOffset);
  setOffset();
  if (help) help.textContent = `Your local time (${Intl.DateTimeFormat().resolvedOptions().timeZone}). Leave empty to go live whenever you are ready.`;
}

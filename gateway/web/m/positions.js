// This phone's positions earlier in the day, kept on the phone (localStorage, today's only, at most 20) and sent with
// a scan as fix.history: a sign-in whose phone saw no position of the member earlier that day is flagged for the
// secretary (NO_MOVEMENT_TODAY). A position is only read where the member already let the page use it.
const KEY = "pb_positions";
const MAX_SAMPLES = 20;
const MIN_GAP_MS = 60000;

const today = () => new Date().toLocaleDateString("en-CA", { timeZone: "Asia/Shanghai" });

export function positionHistory() {
  try {
    const kept = JSON.parse(localStorage.getItem(KEY) || "{}");
    return kept.day === today() && Array.isArray(kept.samples) ? kept.samples : [];
  } catch {
    return [];
  }
}

export function keepPosition(coords, takenAt = new Date().toISOString()) {
  const samples = positionHistory();
  const last = samples[samples.length - 1];
  if (last && Date.parse(takenAt) - Date.parse(last.taken_at) < MIN_GAP_MS) return;
  samples.push({ lat: coords.latitude, lng: coords.longitude, taken_at: takenAt });
  try {
    localStorage.setItem(KEY, JSON.stringify({ day: today(), samples: samples.slice(-MAX_SAMPLES) }));
  } catch { /* storage full or off: nothing kept */ }
}

/** On the member's other pages: a position only where permission was already given, never a prompt. */
export async function keepPositionIfAllowed() {
  try {
    if (!navigator.geolocation || !navigator.permissions || !window.isSecureContext) return;
    const permission = await navigator.permissions.query({ name: "geolocation" });
    if (permission.state !== "granted") return;
    navigator.geolocation.getCurrentPosition((position) => keepPosition(position.coords), () => {},
      { maximumAge: 60000, timeout: 20000 });
  } catch { /* no position: nothing kept */ }
}

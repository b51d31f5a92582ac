// The browser's identity: the token the server gave it, kept in local storage and in a cookie (the cookie
// reaches the server with the next session's first request; local storage outlives a cleared cookie).
const STORE = "vae-latent-explorer.identity";

function readCookie(name) {
  const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : null;
}

export default function (component) {
  const { setStateValue } = component;
  const { json: data } = unpack(component.data);
  if (!data.token) return;
  let stored = null;
  try { stored = window.localStorage.getItem(STORE); } catch (e) { stored = null; }
  if (stored && stored !== data.token && stored !== data.refused && stored !== data.claimed) {
    setStateValue("token", stored); // the cookie was lost: show the server the token kept here
    return;
  }
  try { if (stored !== data.token) window.localStorage.setItem(STORE, data.token); } catch (e) { /* private mode */ }
  if (readCookie(data.cookie) !== data.token) {
    document.cookie = `${data.cookie}=${encodeURIComponent(data.token)}; Max-Age=31536000; Path=/; SameSite=Strict`;
  }
}

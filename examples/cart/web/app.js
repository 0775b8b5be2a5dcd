// The cart's page: Skiff's API from a browser, no framework, no build step.
//
// Tokens: the refresh token lives in the __Secure-skiff-refresh cookie (HttpOnly,
// so no script here can read it), asked for with X-Refresh-Token-Transport:
// cookie. The access token lives in this module's memory only, never in
// localStorage or sessionStorage; a reload renews it from the cookie.
"use strict";

const PRODUCTS = [
  { sku: "sencha", name: "Sencha green tea, 100 g", cents: 650 },
  { sku: "oolong", name: "Milk oolong, 50 g", cents: 890 },
  { sku: "mug", name: "Stoneware mug", cents: 1400 },
  { sku: "filters", name: "Paper filters, 100", cents: 350 },
];
const TRANSPORT = { "X-Refresh-Token-Transport": "cookie" };

let accessToken = null;
let renewTimer = null;
let renewing = null;
let renewals = 0;
let cartTag = null;

const $ = (id) => document.getElementById(id);
const euros = (cents) => `€${(cents / 100).toFixed(2)}`;

/** An API error as problem+json describes it (RFC 9457). */
class Problem extends Error {
  constructor(status, title, detail) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
  }
}

async function problemOf(response) {
  try {
    const body = await response.json();
    return new Problem(response.status, body.title || response.statusText, body.detail);
  } catch {
    return new Problem(response.status, `The request failed (${response.status})`);
  }
}

/** Calls the API with the access token; an expired one is renewed once, silently. */
async function api(method, path, { body, headers = {}, renewed = false } = {}) {
  const init = { method, headers: { ...headers } };
  if (accessToken) init.headers.Authorization = `Bearer ${accessToken}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (response.status === 401 && accessToken && !renewed) {
    if (await renew()) return api(method, path, { body, headers, renewed: true });
    signedOut("Your session has ended: log in again.");
  }
  if (!response.ok) throw await problemOf(response);
  return response;
}

function useTokens(tokens) {
  accessToken = tokens.access_token;
  clearTimeout(renewTimer);
  // A second before it expires, so requests never carry an expired token.
  const seconds = Math.max(1, tokens.expires_in - 1);
  renewTimer = setTimeout(renew, seconds * 1000);
}

/** Trades the refresh cookie for new tokens; false when there is no live session. */
function renew() {
  renewing ??= (async () => {
    try {
      const response = await fetch("/auth/refresh", { method: "POST", headers: TRANSPORT });
      if (!response.ok) return false;
      const hadToken = accessToken !== null;
      useTokens(await response.json());
      if (hadToken) {
        renewals += 1;
        $("renewals").textContent = `Access token renewed ${renewals} time${renewals === 1 ? "" : "s"}`;
      }
      return true;
    } catch {
      return false;
    } finally {
      renewing = null;
    }
  })();
  return renewing;
}

function showProblem(error) {
  $("problem").textContent = error instanceof Problem ? error.message : `Something went wrong: ${error.message}`;
  $("problem").hidden = false;
}

function say(text) {
  $("problem").hidden = true;
  $("status").textContent = text;
}

/** Runs a click's work, showing any error to the person instead of swallowing it. */
function action(work) {
  return async (event) => {
    event?.preventDefault();
    try {
      await work(event);
    } catch (error) {
      showProblem(error);
    }
  };
}

function credentials() {
  return { email: $("email").value.trim(), password: $("password").value };
}

async function logIn() {
  const response = await fetch("/auth/login", {
    method: "POST",
    headers: { ...TRANSPORT, "Content-Type": "application/json" },
    body: JSON.stringify(credentials()),
  });
  if (!response.ok) throw await problemOf(response);
  useTokens(await response.json());
  $("password").value = "";
  await signedIn(`Welcome, ${credentials().email}.`);
}

async function register() {
  const response = await fetch("/auth/register", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(credentials()),
  });
  if (!response.ok) throw await problemOf(response);
  await logIn();
}

async function logOut() {
  await api("POST", "/auth/logout");
  signedOut("You are logged out.");
}

async function signedIn(message) {
  $("auth").hidden = true;
  $("shop").hidden = false;
  say(message);
  await Promise.all([loadCart(), loadOrders(), loadNotifications()]);
}

function signedOut(message) {
  accessToken = null;
  clearTimeout(renewTimer);
  $("shop").hidden = true;
  $("auth").hidden = false;
  say(message);
}

function item(...children) {
  const li = document.createElement("li");
  li.append(...children);
  return li;
}

function span(text, className) {
  const element = document.createElement("span");
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function renderProducts() {
  $("products").replaceChildren(
    ...PRODUCTS.map((product) => {
      const add = document.createElement("button");
      add.type = "button";
      add.textContent = "Add";
      add.className = "add";
      add.addEventListener("click", action(() => changeQty(product.sku, currentQty(product.sku) + 1)));
      const li = item(span(product.name, "name"), span(euros(product.cents), "price"), add);
      li.dataset.sku = product.sku;
      return li;
    }),
  );
}

let cartItems = [];

function currentQty(sku) {
  return cartItems.find((line) => line.sku === sku)?.qty ?? 0;
}

function showCart(response, cart) {
  cartTag = response.headers.get("ETag");
  cartItems = cart.items;
  let total = 0;
  $("cart").replaceChildren(
    ...cart.items.map((line) => {
      const product = PRODUCTS.find((p) => p.sku === line.sku);
      total += (product?.cents ?? 0) * line.qty;
      const qty = document.createElement("input");
      qty.type = "number";
      qty.min = "0";
      qty.max = "99";
      qty.value = String(line.qty);
      qty.className = "qty";
      qty.setAttribute("aria-label", `Quantity of ${product?.name ?? line.sku}`);
      qty.addEventListener("change", action(() => changeQty(line.sku, Number(qty.value))));
      const li = item(span(product?.name ?? line.sku, "name"), qty);
      li.dataset.sku = line.sku;
      li.dataset.qty = String(line.qty);
      return li;
    }),
  );
  $("total").textContent = euros(total);
  $("cart-empty").hidden = cart.items.length > 0;
}

async function loadCart() {
  const response = await api("GET", "/cart");
  showCart(response, await response.json());
}

/** Sets a line's quantity (0 removes it), refused if the cart changed meanwhile. */
async function changeQty(sku, qty) {
  const headers = cartTag ? { "If-Match": cartTag } : {};
  try {
    const response =
      qty === 0
        ? await api("DELETE", `/cart/items/${encodeURIComponent(sku)}`, { headers })
        : await api("PUT", `/cart/items/${encodeURIComponent(sku)}`, { headers, body: { qty } });
    showCart(response, await response.json());
    say("Cart updated.");
  } catch (error) {
    // Another tab changed the cart: show what it holds now, and why nothing changed.
    if (error.status === 412) await loadCart();
    else await loadCart().catch(() => {});
    throw error;
  }
}

async function checkout() {
  const response = await api("POST", "/cart/checkout", {
    headers: { "Idempotency-Key": crypto.randomUUID() },
  });
  const { job_id: jobId } = await response.json();
  say("Placing your order…");
  const job = await until(async () => {
    const current = await (await api("GET", `/jobs/${jobId}`)).json();
    return current.status === "succeeded" || current.status === "failed" ? current : null;
  });
  if (job.status === "failed") throw new Error("the checkout failed; your cart is unchanged");
  await Promise.all([loadCart(), loadOrders()]);
  say("Order placed.");
  await until(async () => (await loadNotifications()).some((n) => n.order_id === jobId) || null);
}

async function until(probe, seconds = 60) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const found = await probe();
    if (found) return found;
    if (Date.now() > deadline) throw new Error("this is taking too long; try again later");
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

async function loadOrders() {
  const { items } = await (await api("GET", "/orders")).json();
  $("orders").replaceChildren(
    ...items.map((order) => {
      const count = order.items.reduce((sum, line) => sum + line.qty, 0);
      const li = item(
        span(`Order of ${count} item${count === 1 ? "" : "s"}`, "name"),
        span(new Date(order.created_at).toLocaleString()),
      );
      li.dataset.orderId = order.order_id;
      return li;
    }),
  );
}

async function loadNotifications() {
  const { items } = await (await api("GET", "/notifications")).json();
  const placed = items.filter((n) => n.type === "order.placed");
  $("notifications").replaceChildren(
    ...placed.map((n) => {
      const li = item(span(`Your order of ${n.item_count} item${n.item_count === 1 ? "" : "s"} was placed`, "name"));
      li.dataset.orderId = n.order_id;
      return li;
    }),
  );
  return placed;
}

async function start() {
  renderProducts();
  $("auth-form").addEventListener("submit", action(logIn));
  $("register").addEventListener("click", action(register));
  $("logout").addEventListener("click", action(logOut));
  $("checkout").addEventListener("click", action(checkout));
  // A reload keeps the person signed in: the cookie renews the access token.
  if (await renew()) {
    await signedIn("Welcome back.").catch(showProblem);
  } else {
    signedOut("");
  }
}

start();

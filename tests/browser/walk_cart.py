#!/usr/bin/env python3
"""Walks the cart's web page (examples/cart/web) in headless Chromium as a person
would, and checks what they would see.

Usage: walk_cart.py BASE_URL SCREENSHOT_PNG

The browser and its driver are Debian's (`chromium`, `chromium-driver`), named by
path so Selenium never looks for (or downloads) one of its own. The host must run
with a short access-token lifetime (a few seconds) so the silent renewal happens
during the walk. Exits non-zero with the failed step on the first surprise.
"""

import os
import secrets
import shutil
import sys

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

COOKIE = "__Secure-skiff-refresh"
PASSWORD = "correct horse battery staple"


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,1100",
                 "--disable-gpu", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=service)


class Page:
    def __init__(self, driver, base_url):
        self.driver = driver
        self.base_url = base_url.rstrip("/")

    def open(self):
        self.driver.get(self.base_url + "/")

    def el(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css):
        return self.el(css).text

    def shown(self, css):
        return self.el(css).is_displayed()

    def wait(self, what, probe, seconds=30):
        try:
            return WebDriverWait(self.driver, seconds, poll_frequency=0.2).until(lambda _: probe())
        except TimeoutException:
            problem = self.text("#problem") if self.shown("#problem") else "(none)"
            sys.exit(f"walk_cart: waited {seconds}s for {what}; status {self.text('#status')!r}, "
                     f"problem shown: {problem!r}")

    def wait_status(self, text, seconds=30):
        self.wait(f"the status {text!r}", lambda: text in self.text("#status"), seconds)

    def wait_problem(self, text):
        self.wait(f"the problem {text!r}", lambda: self.shown("#problem") and text in self.text("#problem"))

    def fill(self, css, value):
        field = self.el(css)
        field.clear()
        field.send_keys(value)

    def add(self, sku):
        before = self.cart_lines().get(sku, 0)
        self.el(f'#products li[data-sku="{sku}"] button.add').click()
        self.wait(f"{sku} x{before + 1} in the cart", lambda: self.cart_lines().get(sku, 0) == before + 1)

    def set_qty(self, sku, qty):
        field = self.el(f'#cart li[data-sku="{sku}"] input.qty')
        # Select all, type the new value, then leave the field (the change event).
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(str(qty))
        field.send_keys(Keys.TAB)
        expected = None if qty == 0 else qty
        self.wait(f"{sku} x{qty} in the cart", lambda: self.cart_lines().get(sku) == expected)

    def cart_lines(self):
        """{sku: quantity} as the API last answered, read in one go (the list is
        redrawn after every answer, so element by element could read half of it;
        a field's value could be what was typed but not yet saved)."""
        return self.driver.execute_script("""
            return Object.fromEntries([...document.querySelectorAll("#cart li")]
              .map((li) => [li.dataset.sku, Number(li.dataset.qty)]));
        """)

    def renewals(self):
        words = self.text("#renewals").split()
        return int(words[3]) if len(words) > 3 and words[3].isdigit() else 0

    def script_can_read_token(self):
        """What any script on the page can reach: document.cookie and web storage."""
        found = self.driver.execute_script("""
            const stores = [localStorage, sessionStorage];
            return {
              cookie: document.cookie,
              storage: stores.map((s) => Object.keys(s).map((k) => k + "=" + s.getItem(k))).flat(),
            };
        """)
        return found

    def refresh_cookie(self):
        """The refresh cookie as the browser holds it. WebDriver's own cookie list
        is only the current page's path (/auth is not /), so ask Chromium's
        DevTools for the whole jar."""
        jar = self.driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
        return next((c for c in jar if c["name"] == COOKIE), None)


def check(condition, message):
    if not condition:
        sys.exit(f"walk_cart: {message}")


def assert_no_token_reachable(page):
    found = page.script_can_read_token()
    check(COOKIE not in found["cookie"], f"document.cookie shows the refresh cookie: {found['cookie']!r}")
    check(found["storage"] == [], f"web storage holds {found['storage']!r}")


def walk(page, screenshot):
    email = f"shopper-{secrets.token_hex(6)}@example.com"
    page.open()
    page.wait("the sign-in form", lambda: page.shown("#auth"))

    # A login before registering: the API's problem is shown, not swallowed.
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.el("#login").click()
    page.wait_problem("Invalid credentials")
    check(page.shown("#auth") and not page.shown("#shop"), "a failed login left the sign-in form")

    # Register (which logs in): the shop appears; the refresh token is a cookie the
    # page cannot read, and the access token is nowhere but in the page's memory.
    page.el("#register").click()
    page.wait_status(f"Welcome, {email}.")
    check(not page.shown("#problem"), "the problem is still shown after logging in")
    cookie = page.refresh_cookie()
    check(cookie is not None, "no refresh cookie after logging in")
    check(cookie["httpOnly"] and cookie["secure"] and cookie.get("sameSite") == "Strict" and cookie["path"] == "/auth",
          f"the refresh cookie is not HttpOnly, Secure, SameSite=Strict on /auth: {cookie}")
    assert_no_token_reachable(page)

    # Checking out an empty cart: the API's 409 is shown.
    page.el("#checkout").click()
    page.wait_problem("the cart is empty")

    # Fill the cart, change quantities, see the total follow.
    page.add("sencha")
    page.add("sencha")
    page.add("mug")
    check(page.text("#total") == "€27.00", f"total {page.text('#total')!r}, expected €27.00")
    page.set_qty("mug", 3)
    check(page.text("#total") == "€55.00", f"total {page.text('#total')!r}, expected €55.00")
    page.set_qty("sencha", 0)
    page.add("filters")
    check(page.cart_lines() == {"mug": 3, "filters": 1}, f"cart {page.cart_lines()}")
    check(page.text("#total") == "€45.50", f"total {page.text('#total')!r}, expected €45.50")

    # The access token lives a few seconds: the page renews it from the cookie
    # without the person noticing, and keeps working.
    page.wait("two silent renewals of the access token", lambda: page.renewals() >= 2, seconds=60)
    check(page.shown("#shop") and not page.shown("#problem"), "a renewal showed a problem or signed out")
    assert_no_token_reachable(page)

    # Check out: the order and its notification appear, the cart empties.
    page.el("#checkout").click()
    page.wait_status("Order placed.", seconds=90)
    page.wait("the order in the list", lambda: len(page.driver.find_elements(By.CSS_SELECTOR, "#orders li")) == 1)
    check("Order of 4 items" in page.text("#orders"), f"orders: {page.text('#orders')!r}")
    check(page.cart_lines() == {}, f"the cart after checkout: {page.cart_lines()}")
    check(page.shown("#cart-empty"), "the emptied cart does not say so")
    page.wait("the order.placed notification",
              lambda: "Your order of 4 items was placed" in page.text("#notifications"), seconds=90)
    order_id = page.el("#orders li").get_attribute("data-order-id")
    check(page.el("#notifications li").get_attribute("data-order-id") == order_id,
          "the notification is not the order's")
    os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
    page.driver.save_screenshot(screenshot)

    # A reload keeps the person signed in (the cookie renews the access token) and
    # shows the same orders.
    page.open()
    page.wait_status("Welcome back.")
    page.wait("the order after a reload", lambda: page.el("#orders li").get_attribute("data-order-id") == order_id)
    assert_no_token_reachable(page)

    # Log out: the cookie is gone, and a reload shows the sign-in form.
    page.el("#logout").click()
    page.wait_status("You are logged out.")
    check(page.shown("#auth") and not page.shown("#shop"), "logging out left the shop shown")
    check(page.refresh_cookie() is None, "the refresh cookie survived logging out")
    page.open()
    page.wait("the sign-in form after logging out", lambda: page.shown("#auth"))
    check(not page.shown("#shop"), "a reload after logging out shows the shop")

    # Registering the same email again: the API's 409 is shown.
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.el("#register").click()
    page.wait_problem("Email already registered")


def main():
    base_url, screenshot = sys.argv[1], sys.argv[2]
    driver = browser()
    try:
        walk(Page(driver, base_url), screenshot)
    finally:
        driver.quit()
    print("walk_cart: the page works end to end")


if __name__ == "__main__":
    main()

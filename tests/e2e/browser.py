"""A real headless Chromium for the UI tests: Debian's ``chromium`` driven through Debian's
``chromium-driver`` with Selenium (both installed by ``./dev setup`` from devtools/debian-packages.txt).

Why Selenium and Debian's driver: the driver and the browser come from the same Debian release, so
their versions always match, and nothing is downloaded at run time (Selenium's own driver manager
is never asked: the driver's path is given). Every page the tests load is kept, so a test can check
that a Secret's value never appeared in any of them.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "ui"


def available() -> str:
    """Empty when Chromium and its driver are installed, else what is missing."""
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists()]
    return ", ".join(missing)


class Browser:
    """One headless Chromium window; ``pages`` holds the source of every page it showed."""

    def __init__(self, base_url: str, *, width: int = 1280, height: int = 860) -> None:
        os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium look for drivers online
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
            options.add_argument(arg)
        options.add_argument(f"--window-size={width},{height}")
        options.add_argument("--disable-features=Translate,MediaRouter")
        self.driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
        self.base_url = base_url.rstrip("/")
        self.pages: list[str] = []

    def close(self) -> None:
        self.driver.quit()

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)
        self.keep()

    def keep(self) -> None:
        self.pages.append(self.driver.page_source)

    @property
    def path(self) -> str:
        url = str(self.driver.current_url)
        return url[len(self.base_url) :] if url.startswith(self.base_url) else url

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        return list(self.driver.find_elements(By.CSS_SELECTOR, css))

    def text(self, css: str = "body") -> str:
        try:
            return str(self.find(css).text)
        except (WebDriverException, StaleElementReferenceException):
            return ""

    def until(self, check: Callable[[], Any], *, within: float = 90, what: str = "") -> Any:
        deadline = time.monotonic() + within
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = check()
            except (WebDriverException, StaleElementReferenceException):
                last = None
            if last:
                self.keep()
                return last
            time.sleep(0.25)
        raise AssertionError(
            f"browser: {what or 'condition'} not met in {within}s at {self.path}: {self.text()[:1500]}"
        )

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def fetch(self, method: str, path: str, *, csrf: bool, body: str = "") -> int:
        """A request made by the page's own script (same origin, session cookie); its status."""
        script = """
            const [method, path, body, withCsrf, done] = arguments;
            const headers = {'Content-Type': 'application/x-www-form-urlencoded'};
            const meta = document.querySelector('meta[name="gitward-csrf"]');
            if (withCsrf && meta) headers['X-Gitward-CSRF'] = meta.content;
            const init = {method, headers, body: body || undefined, credentials: 'same-origin'};
            fetch(path, {...init, redirect: 'manual'})
              .then(r => done(r.status)).catch(e => done(-1));
        """
        return int(self.driver.execute_async_script(script, method, path, body, csrf))

    def mark(self) -> None:
        """Set a value that only survives as long as the page is not reloaded."""
        self.js("window.__gitwardNoReload = 'still here';")

    def not_reloaded(self) -> bool:
        return bool(self.js("return window.__gitwardNoReload === 'still here';"))

    def dark(self, on: bool) -> None:
        features = [{"name": "prefers-color-scheme", "value": "dark" if on else "light"}]
        self.driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": features})

    def screenshot(self, name: str) -> Path:
        """A small PNG under docs/ui/ (palette-quantised when Pillow is there)."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{name}.png"
        self.driver.save_screenshot(str(target))
        try:
            from PIL import Image

            with Image.open(target) as image:
                small = image.convert("RGB").quantize(colors=96, dither=Image.Dither.NONE)
                small.save(target, optimize=True)
        except ImportError:
            pass
        return target

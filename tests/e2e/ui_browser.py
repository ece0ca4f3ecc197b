"""Headless Chromium (Debian's chromium + chromedriver) driving the Airflow UI as a user would.

``Service(executable_path=...)`` is given explicitly, so selenium-manager never downloads anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType

import pytest

from tests.airflow_stack import ROOT


class AirflowUI:
    def __init__(self, url: str, chromedriver: str, timeout: float = 90) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--window-size=1600,1000",
        ):
            options.add_argument(argument)
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)

    def __enter__(self) -> AirflowUI:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.driver.quit()

    def open(self, path: str) -> None:
        self.driver.get(self.url + path)

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def wait_for_text(self, wanted: str) -> str:
        """The page's text once it shows ``wanted`` (React pages fill in after loading)."""
        deadline = time.monotonic() + self.timeout
        text = ""
        while time.monotonic() < deadline:
            try:
                text = self.text()
            except Exception:  # the page is being replaced
                text = ""
            if wanted in text:
                return text
            time.sleep(0.5)
        raise AssertionError(
            f"{wanted!r} not shown at {self.driver.current_url} after {self.timeout:.0f}s:\n{text[-3000:]}"
        )

    def login(self, user: str, password: str) -> None:
        """The SimpleAuthManager login form, filled in and sent."""
        from selenium.webdriver.common.by import By

        self.open("/")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            fields = self.driver.find_elements(By.CSS_SELECTOR, "input")
            if len(fields) >= 2:
                break
            time.sleep(0.5)
        fields = self.driver.find_elements(By.CSS_SELECTOR, "input")
        fields[0].send_keys(user)
        self.driver.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and "login" in self.driver.current_url:
            time.sleep(0.5)
        if "login" in self.driver.current_url:
            raise AssertionError(f"login did not leave the login page:\n{self.text()[-2000:]}")

    def expand_json(self) -> None:
        """Opens the folded JSON values (XCom, task state store) once they are on the page."""
        from selenium.webdriver.common.by import By

        selector = "button[aria-label='Expand all extra JSON']"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            buttons = self.driver.find_elements(By.CSS_SELECTOR, selector)
            if buttons and "Copy" in self.text():
                buttons[0].click()
                return
            time.sleep(0.5)
        raise AssertionError(f"no JSON value to expand at {self.driver.current_url}")

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))


def chromedriver() -> str:
    """Debian's chromedriver (installed by scripts/setup-servers.sh when missing, as root), or a skip."""
    if not shutil.which("chromedriver") and os.geteuid() == 0:
        subprocess.run(["bash", str(ROOT / "scripts" / "setup-servers.sh")], capture_output=True, timeout=900)
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not os.path.exists(driver) or not shutil.which("chromium"):
        pytest.skip("chromium and chromium-driver are not installed and cannot be (apt, as root)")
    return driver

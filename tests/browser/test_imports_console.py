"""An import in a real browser: upload a file, read the dry run's diff and row errors as the page follows the import
live (server-sent events, under the console's strict Content Security Policy), apply the valid rows, watch it
finish, download the error file."""

from __future__ import annotations

from pathlib import Path

from tests.browser.test_console_screens import sign_in
from tests.builders import make_user
from tests.support.server import Server

ROWS = 1500


def test_a_manager_uploads_watches_the_dry_run_applies_the_valid_rows_and_downloads_the_errors(
    page, server: Server, fixture_uow, tmp_path: Path
) -> None:
    make_user(fixture_uow, role="manager", email="manager@example.com")
    data = (
        "sku,name,weight_g\n"
        + "".join(f"MUG-{i},Mug {i},{100 + i}\n" for i in range(ROWS))
        + "BAD-1,Bad,heavy\n"
    )
    upload = tmp_path / "items.csv"
    upload.write_text(data)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if r.url.endswith("/progress") else None)
    sign_in(page, "manager@example.com")
    # when a file is uploaded to be applied valid rows only
    page.goto("/imports")
    page.select_option("select[name=kind]", "items")
    page.select_option("select[name=mode]", "apply_valid")
    page.set_input_files("input[name=file]", str(upload))
    page.click("#upload button[type=submit]")
    page.wait_for_url("**/imports/*")
    busy = page.locator("#progress").count() == 1
    # then the page follows the dry run to its end without being reloaded by hand
    page.wait_for_selector("#status:text-is('validated')", timeout=60_000)
    if busy:
        assert streams and streams[0].endswith(page.url.rsplit("/", 1)[1] + "/progress")
    assert page.inner_text("#to-create") == str(ROWS) and page.inner_text("#invalid") == "1"
    assert "weight_g" in page.inner_text("#row-errors")
    # when the valid rows are applied, the page follows the apply to its end
    page.click("#apply-valid")
    page.wait_for_selector("#status:text-is('applied')", timeout=60_000)
    assert page.inner_text("#created") == str(ROWS)
    # and the error file holds the failed row with its reason
    with page.expect_download() as download:
        page.click("#errors-title ~ p a:text-is('CSV')")
    errors = Path(download.value.path()).read_text().splitlines()
    assert errors == [
        "row,sku,name,weight_g,error",
        f'{ROWS + 2},BAD-1,Bad,heavy,"weight_g: Input should be a valid integer, unable to parse string as an integer"',
    ]
    assert violations == []

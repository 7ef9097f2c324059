"""Merchandise categories in the console, on SQLite and PostgreSQL: the tree each category under its parent; adding,
renaming, moving and deactivating through the forms (a refusal names its reason beside the input and changes
nothing; a role without catalog:write reads the tree without forms); an item's and a style's category on the stock
page (a variant takes its style's); and the segment editor's reference of rule fields and category codes."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from ordersmith.catalog import service as catalog
from ordersmith.catalog import styles
from ordersmith.marketing import lists
from tests.api.conftest import login
from tests.builders import make_order_shop

BETWEEN = " \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} "
TEES_TRAIL, TOPS_TRAIL = BETWEEN.join(["Apparel", "Tops", "Tees"]), BETWEEN.join(["Apparel", "Tops"])
PATTERN_REFUSAL = "String should match pattern &#39;^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$&#39;"


def _tree(admin_db) -> None:  # type: ignore[no-untyped-def]
    catalog.create_category(admin_db, code="HOME", name="Home")
    catalog.create_category(admin_db, code="KITCHEN", name="Kitchen", parent="HOME")
    catalog.create_category(admin_db, code="APPAREL", name="Apparel")
    catalog.create_category(admin_db, code="TOPS", name="Tops", parent="APPAREL")
    catalog.create_category(admin_db, code="TEES", name="Tees", parent="TOPS")


def _post(client: TestClient, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    """A form posted as a browser does, its redirect not followed."""
    return client.post(path, data=data, follow_redirects=False)


def _shape(admin_db) -> list[tuple[str, str, str | None, bool]]:  # type: ignore[no-untyped-def]
    return [(c.code, c.name, c.parent, c.active) for c in catalog.list_categories(admin_db)]


def _nesting(html: str) -> list[str]:
    """The tree's lists and categories in the order the page has them."""
    tree = html[html.index('id="category-tree"') :].split("</section>")[0]
    return [m.group(1) or m.group(0) for m in re.finditer(r'<ul>|</ul>|data-category="([^"]+)"', tree)]


def test_the_tree_shows_each_category_nested_under_its_parent_in_path_order(client: TestClient, admin_db):  # type: ignore[no-untyped-def]
    # given a tree two departments deep, TOPS made inactive
    _tree(admin_db)
    catalog.update_category(admin_db, code="TOPS", active=False)
    login(client, admin_db, role="readonly")
    # when the screen is opened
    page = client.get("/categories")
    # then each category follows its parent, one list deeper, the inactive one marked
    assert page.status_code == 200
    assert _nesting(page.text) == [
        "APPAREL",
        "<ul>",
        "TOPS",
        "<ul>",
        "TEES",
        "</ul>",
        "</ul>",
        "HOME",
        "<ul>",
        "KITCHEN",
        "</ul>",
        "</ul>",
    ]
    depths = re.findall(r'data-category="([A-Z]+)" data-depth="(\d)"', page.text)
    assert depths == [("APPAREL", "0"), ("TOPS", "1"), ("TEES", "2"), ("HOME", "0"), ("KITCHEN", "1")]
    tops = page.text[page.text.index('data-category="TOPS"') :].split("<ul>")[0]
    assert '<code>TOPS</code> Tops <span class="badge inactive">inactive</span>' in tops


def test_a_manager_adds_renames_moves_and_deactivates_categories_through_the_forms(
    client: TestClient, admin_db
) -> None:  # type: ignore[no-untyped-def]
    # given a manager signed in
    csrf = login(client, admin_db, role="manager")
    # when they add a department and a class under it
    added = _post(
        client, "/categories", data={"csrf_token": csrf, "code": "apparel", "name": "Apparel", "parent": ""}
    )
    _post(
        client, "/categories", data={"csrf_token": csrf, "code": "TOPS", "name": "Tops", "parent": "APPAREL"}
    )
    # then both are stored, the class under the department, and the page says so
    assert (
        added.status_code == 303
        and added.headers["location"] == "/categories?done=Category%20APPAREL%20added"
    )
    assert _shape(admin_db) == [("APPAREL", "Apparel", None, True), ("TOPS", "Tops", "APPAREL", True)]
    assert "Category APPAREL added." in client.get(added.headers["location"]).text
    # when TOPS is renamed and moved to the top level from its edit form
    edit = client.get("/categories?edit=TOPS")
    assert edit.status_code == 200 and 'id="category-TOPS"' in edit.text
    version = catalog.get_category(admin_db, code="TOPS").version
    moved = _post(
        client,
        "/categories/TOPS",
        data={"csrf_token": csrf, "version": str(version), "name": "Tops and tees", "parent": ""},
    )
    # then it is renamed and at the top level
    assert (
        moved.status_code == 303 and moved.headers["location"] == "/categories?done=Category%20TOPS%20saved"
    )
    assert _shape(admin_db) == [("APPAREL", "Apparel", None, True), ("TOPS", "Tops and tees", None, True)]
    # when it is made inactive, then active again
    version = catalog.get_category(admin_db, code="TOPS").version
    off = _post(
        client, "/categories/TOPS", data={"csrf_token": csrf, "version": str(version), "active": "false"}
    )
    assert off.headers["location"] == "/categories?done=Category%20TOPS%20made%20inactive"
    assert _shape(admin_db) == [("APPAREL", "Apparel", None, True), ("TOPS", "Tops and tees", None, False)]
    page = client.get("/categories")
    # no new category goes under an inactive one
    assert '<option value="TOPS"' not in page.text.split('id="add"')[1]
    on = _post(
        client, "/categories/TOPS", data={"csrf_token": csrf, "version": str(version + 1), "active": "true"}
    )
    # then it is active again
    assert on.headers["location"] == "/categories?done=Category%20TOPS%20active%20again"
    assert _shape(admin_db) == [("APPAREL", "Apparel", None, True), ("TOPS", "Tops and tees", None, True)]


def test_a_refused_form_names_its_reason_beside_the_input_and_changes_nothing(
    client: TestClient, admin_db
) -> None:  # type: ignore[no-untyped-def]
    # given a tree and a manager signed in
    _tree(admin_db)
    csrf = login(client, admin_db, role="manager")
    before = catalog.list_categories(admin_db)
    version = str(catalog.get_category(admin_db, code="APPAREL").version)
    # when a category is added under a parent that does not exist, with a malformed code, and when APPAREL is moved
    # under its own grandchild, and saved at a version someone else changed since
    unknown = _post(
        client, "/categories", data={"csrf_token": csrf, "code": "SOCKS", "name": "Socks", "parent": "NOPE"}
    )
    malformed = _post(client, "/categories", data={"csrf_token": csrf, "code": "bad code!", "name": "Bad"})
    loop = _post(
        client,
        "/categories/APPAREL",
        data={"csrf_token": csrf, "version": version, "name": "Apparel", "parent": "TEES"},
    )
    stale = _post(
        client,
        "/categories/APPAREL",
        data={"csrf_token": csrf, "version": "9", "name": "Clothes", "parent": ""},
    )
    gone = _post(client, "/categories/NOPE", data={"csrf_token": csrf, "active": "false"})
    # then each answers its status with the reason beside its input, what was typed kept, and nothing changed
    assert unknown.status_code == 422
    assert '<span class="field-error" id="add-parent-error">no category &#39;NOPE&#39;</span>' in unknown.text
    assert 'value="SOCKS"' in unknown.text
    assert malformed.status_code == 422
    assert f'<span class="field-error" id="add-code-error">{PATTERN_REFUSAL}</span>' in malformed.text
    assert loop.status_code == 422
    assert (
        '<span class="field-error" id="category-APPAREL-parent-error">TEES is APPAREL itself or below it</span>'
        in loop.text
    )
    assert stale.status_code == 412
    assert (
        '<p class="error" role="alert" id="category-APPAREL-problem">category APPAREL is at version 1</p>'
        in (stale.text)
    )
    assert 'value="Clothes"' in stale.text
    assert gone.status_code == 404
    assert '<p class="error" role="alert" id="categories-error">no category &#39;NOPE&#39;</p>' in gone.text
    assert catalog.list_categories(admin_db) == before


def test_a_role_without_catalog_write_reads_the_tree_without_forms_and_its_posts_are_refused(
    client: TestClient, admin_db
) -> None:  # type: ignore[no-untyped-def]
    # given a tree and a marketer signed in
    _tree(admin_db)
    csrf = login(client, admin_db, role="marketing")
    before = catalog.list_categories(admin_db)
    # when the marketer opens the screen and posts its forms anyway
    page = client.get("/categories")
    edit = client.get("/categories?edit=TOPS")
    added = _post(client, "/categories", data={"csrf_token": csrf, "code": "SOCKS", "name": "Socks"})
    renamed = _post(client, "/categories/TOPS", data={"csrf_token": csrf, "name": "Shirts"})
    deactivated = _post(client, "/categories/TOPS", data={"csrf_token": csrf, "active": "false"})
    # then the tree is shown with no form, each post is refused and nothing changed
    assert page.status_code == 200 and 'data-category="TEES"' in page.text
    assert '<form method="post" action="/categories' not in page.text + edit.text
    assert 'id="add"' not in page.text and 'id="category-TOPS"' not in edit.text
    assert [added.status_code, renamed.status_code, deactivated.status_code] == [403, 403, 403]
    assert catalog.list_categories(admin_db) == before
    # and the screen is in the marketer's navigation
    assert '<li><a href="/categories" aria-current="page">Categories</a></li>' in page.text


def test_the_stock_page_shows_an_items_category_and_sets_it(client: TestClient, admin_db) -> None:  # type: ignore[no-untyped-def]
    # given a tee in no category, the tree, and a manager signed in
    make_order_shop(admin_db)
    _tree(admin_db)
    csrf = login(client, admin_db, role="manager")
    before = client.get("/stock", params={"sku": "TEE"})
    # when the manager puts it in TEES from its stock page
    saved = _post(client, "/stock/category", data={"csrf_token": csrf, "sku": "TEE", "category": "tees"})
    # then it is in TEES, and its page names the category from the top down, linking to the tree
    assert '<p id="category"><span class="muted">in no category</span></p>' in before.text
    assert 'id="item-category"' in before.text and 'id="style-category"' not in before.text
    assert saved.status_code == 303
    assert saved.headers["location"] == "/stock?sku=TEE&done=TEE%20is%20in%20category%20TEES"
    assert catalog.get_item(admin_db, sku="TEE").category == "TEES"
    page = client.get(saved.headers["location"])
    assert f'<p id="category"><a href="/categories">{TEES_TRAIL}</a> (<code>TEES</code>)</p>' in page.text
    assert f'<option value="TEES" selected>{TEES_TRAIL} (TEES)</option>' in page.text
    # when an inactive category is chosen, it is refused as the page's error and the tee keeps TEES
    catalog.update_category(admin_db, code="KITCHEN", active=False)
    refused = _post(client, "/stock/category", data={"csrf_token": csrf, "sku": "TEE", "category": "KITCHEN"})
    assert refused.status_code == 422
    assert '<p class="error" role="alert">category: category KITCHEN is inactive</p>' in refused.text
    assert catalog.get_item(admin_db, sku="TEE").category == "TEES"
    # and "no category" takes it out
    _post(client, "/stock/category", data={"csrf_token": csrf, "sku": "TEE", "category": ""})
    assert catalog.get_item(admin_db, sku="TEE").category is None


def test_a_variant_takes_its_styles_category_and_is_refused_one_of_its_own(
    client: TestClient, admin_db
) -> None:  # type: ignore[no-untyped-def]
    # given a shirt style in two colours and two sizes, the tree, and a manager signed in
    make_order_shop(admin_db)
    _tree(admin_db)
    styles.create_style(
        admin_db,
        code="OXF",
        name="Oxford shirt",
        divisions=["web"],
        axes=[("colour", ["white", "blue"]), ("size", ["M", "XL"])],
    )
    csrf = login(client, admin_db, role="manager")
    variant = client.get("/stock", params={"sku": "OXF-BLUE-XL"})
    # when a category is set on one variant
    refused = _post(
        client, "/stock/category", data={"csrf_token": csrf, "sku": "OXF-BLUE-XL", "category": "TOPS"}
    )
    # then it is refused as the page's error, and no variant has a category
    assert (
        'a variant of style <a href="/stock?sku=OXF">OXF</a>: it takes the style\'s category' in variant.text
    )
    assert 'id="style-category"' in variant.text and 'id="item-category"' not in variant.text
    assert refused.status_code == 422
    assert (
        '<p class="error" role="alert">category: OXF-BLUE-XL is a variant of style OXF: it takes its style&#39;s '
        "category</p>" in refused.text
    )
    shirts = styles.get_style(admin_db, code="OXF").variants
    assert [catalog.get_item(admin_db, sku=v.sku).category for v in shirts] == [None, None, None, None]
    # when the style's form is used from the variant's page
    saved = _post(
        client,
        "/stock/style-category",
        data={"csrf_token": csrf, "style": "OXF", "sku": "OXF-BLUE-XL", "category": "TOPS"},
    )
    # then the style and all four variants are in TOPS, and the page goes back to the variant
    assert saved.status_code == 303
    assert saved.headers["location"] == (
        "/stock?sku=OXF-BLUE-XL&done=Style%20OXF%20is%20in%20category%20TOPS%3B%20variants%20changed%3A%204"
    )
    assert styles.get_style(admin_db, code="OXF").category == "TOPS"
    assert [catalog.get_item(admin_db, sku=v.sku).category for v in shirts] == ["TOPS"] * 4
    style_page = client.get("/stock", params={"sku": "OXF"})
    assert (
        f'<p id="category"><a href="/categories">{TOPS_TRAIL}</a> (<code>TOPS</code>)</p>' in style_page.text
    )


def test_the_segment_editor_lists_every_rule_field_and_the_active_category_codes(
    client: TestClient, admin_db
) -> None:  # type: ignore[no-untyped-def]
    # given the tree with KITCHEN inactive, and a marketer signed in
    _tree(admin_db)
    catalog.update_category(admin_db, code="KITCHEN", active=False)
    login(client, admin_db, role="marketing")
    # when the marketer opens the segment editor
    page = client.get("/segments")
    # then its reference lists every rule field with its operators, and the active categories by code and names
    assert page.status_code == 200 and '<details id="rule-reference">' in page.text
    fields = page.text[page.text.index('id="rule-fields"') :].split("</table>")[0]
    assert re.findall(r'data-rule-field="([a-z_]+)"', fields) == list(lists.FIELDS)
    assert (
        '<tr data-rule-field="purchased_category"><td><code>purchased_category</code></td>'
        "<td><code>in</code>: a list of 1 to 500 codes</td></tr>" in fields
    )
    assert (
        "<td><code>within_days</code>: a whole number of days from 0 to 36500<br><code>not_within_days</code>"
        in fields
    )
    codes = page.text[page.text.index('id="rule-categories"') :].split("</table>")[0]
    assert re.findall(r'data-category="([A-Z]+)"', codes) == ["APPAREL", "TOPS", "TEES", "HOME"]
    assert f'<tr data-category="TEES"><td><code>TEES</code></td><td>{TEES_TRAIL}</td></tr>' in codes

"""The web pages over plain HTTP (httpx against a real `cl server` on
loopback): cookie flags, CSRF refusals that change nothing, 403 pages that
show none of another's data, edit conflicts, bad input answered 4xx."""

import json
import re

import httpx
import pytest

from tests.web.conftest import csrf_of, signed_in


def _cookie(response, name):
    found = [v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith(name + "=")]
    assert found, response.headers
    return found[-1]


def _sign_in_response(url, user, headers=None):
    """Sign in, handing the pre-session cookie back by hand (httpx keeps a
    Secure cookie from an http:// URL to itself, as a browser would)."""
    client = httpx.Client(base_url=url, headers=headers or {}, follow_redirects=False, timeout=60)
    form = client.get("/signin")
    pre = _cookie(form, "cl_presession").split(";")[0]
    client.cookies.clear()
    return client, client.post("/signin", data={"csrf": csrf_of(form.text), "user": user,
                                                "password": f"{user}-password"}, headers={"cookie": pre})


def test_session_cookie_is_httponly_lax_and_secure_only_over_https(lab):
    # the lab's server has server.behind_proxy = true: X-Forwarded-Proto is believed
    _, plain = _sign_in_response(lab.url, "alice")
    cookie = _cookie(plain, "cl_session")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    _, tls = _sign_in_response(lab.url, "alice", {"X-Forwarded-Proto": "https"})
    cookie = _cookie(tls, "cl_session")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_and_token_are_refused(lab):
    client = httpx.Client(base_url=lab.url, follow_redirects=False, timeout=60)
    token = csrf_of(client.get("/signin").text)
    r = client.post("/signin", data={"csrf": token, "user": "alice", "password": "bob-password"})
    assert r.status_code == 401 and "wrong user name or password" in r.text
    assert "cl_session" not in r.headers.get("set-cookie", "")
    r = client.post("/signin", data={"csrf": token, "token": "cl_not-a-token"})
    assert r.status_code == 401 and "token is not right" in r.text


def test_token_signs_in(lab):
    client = httpx.Client(base_url=lab.url, follow_redirects=False, timeout=60)
    token = csrf_of(client.get("/signin").text)
    r = client.post("/signin", data={"csrf": token, "token": lab.alice_token})
    assert r.status_code == 303
    assert "signed in as <b>alice</b>" in client.get("/").text


def test_sign_in_without_the_form_token_is_refused(lab):
    """Login CSRF: another site cannot sign a browser in as someone."""
    client = httpx.Client(base_url=lab.url, follow_redirects=False, timeout=60)
    r = client.post("/signin", data={"user": "alice", "password": "alice-password"})
    assert r.status_code == 403
    assert "cl_session" not in r.headers.get("set-cookie", "")
    client.get("/signin")  # the pre-session cookie is set, but the form field is missing or wrong
    r = client.post("/signin", data={"csrf": "forged", "user": "alice", "password": "alice-password"})
    assert r.status_code == 403


@pytest.mark.parametrize("path,data", [
    ("/worksheets/alice-lab/add", {"text": "forged text"}),
    ("/worksheets/alice-lab/run", {"command": "echo forged"}),
    ("/worksheets/alice-lab/edit", {"text": "forged", "head": "0"}),
    ("/signout", {}),
])
def test_a_change_without_the_csrf_token_is_refused_and_changes_nothing(lab, path, data):
    client = signed_in(lab.url, "alice")
    before = lab.on_server(["print", "alice-lab"]).stdout
    for extra in ({}, {"csrf": "wrong"}):
        r = client.post(path, data={**data, **extra})
        assert r.status_code == 403, r.text
        assert "CSRF" in r.text
    assert lab.on_server(["print", "alice-lab"]).stdout == before
    assert "signed in as <b>alice</b>" in client.get("/").text  # sign-out did not happen either


def test_the_csrf_header_is_accepted_for_script_changes(lab):
    client = signed_in(lab.url, "alice")
    token = csrf_of(client.get("/worksheets/alice-lab").text)
    r = client.post("/worksheets/alice-lab/add", data={"text": "added with the header"},
                    headers={"X-CSRF-Token": token})
    assert r.status_code == 303
    assert "added with the header" in lab.on_server(["print", "alice-lab"]).stdout


@pytest.mark.parametrize("who", ["bob", None])
def test_another_persons_worksheet_and_bundle_are_refused_with_403(lab, who):
    client = signed_in(lab.url, who) if who else httpx.Client(base_url=lab.url, timeout=60)
    paths = ["/worksheets/alice-lab", "/worksheets/alice-lab/states", "/worksheets/alice-lab/edit",
             f"/bundles/0x{lab.data}", f"/bundles/0x{lab.data}/summary", f"/bundles/0x{lab.data}/files/",
             f"/bundles/0x{lab.data}/raw/", f"/bundles/0x{lab.data}/output/stdout",
             "/worksheets/secret"]
    for path in paths:
        r = client.get(path)
        assert r.status_code == 403, (path, r.status_code)
        assert "alpha" not in r.text and "Alice experiments" not in r.text and "secret plan" not in r.text
        if not path.endswith(("states", "stdout")):
            assert "Not allowed" in r.text
    # nor is any of it listed
    listing = client.get("/").text
    assert "alice-lab" not in listing and "secret" not in listing
    # and changes are refused too
    if who:
        token = csrf_of(client.get("/").text)
        r = client.post("/worksheets/alice-lab/add", data={"csrf": token, "text": "bob was here"})
        assert r.status_code == 403
        assert "bob was here" not in lab.on_server(["print", "alice-lab"]).stdout


def test_anonymous_refusal_offers_sign_in(lab):
    r = httpx.get(lab.url + "/worksheets/alice-lab", timeout=60)
    assert r.status_code == 403 and "sign in" in r.text.lower()


def test_owner_sees_and_root_sees_everything(lab):
    alice = signed_in(lab.url, "alice")
    page = alice.get("/worksheets/alice-lab")
    assert page.status_code == 200 and "Alice experiments" in page.text
    assert re.search(r'<td[^>]*>11 B</td>', page.text), "sizes in human units"
    assert alice.get(f"/bundles/0x{lab.data}/raw/").text == "alpha\nbeta\n"
    assert alice.get("/worksheets/secret").status_code == 403
    found = alice.get("/", params={"q": "alice"}).text
    assert "alice-lab" in found and "Worksheets matching" in found
    assert "alice-lab" not in alice.get("/", params={"q": "nothing-matches-this"}).text
    root = signed_in(lab.url, "root")
    assert "secret plan" in root.get("/worksheets/secret").text
    assert "alice-lab" in root.get("/").text


def test_unknown_things_are_404_and_bad_input_400(lab):
    alice = signed_in(lab.url, "alice")
    assert alice.get("/worksheets/no-such-worksheet").status_code == 404
    assert alice.get("/bundles/0xabcdef0123").status_code == 404
    assert alice.get(f"/bundles/0x{lab.data}/output/nonsense").status_code in (400, 404)
    assert alice.get(f"/bundles/0x{lab.data}/files/../../etc/passwd").status_code in (400, 404)
    token = csrf_of(alice.get("/").text)
    r = alice.post("/worksheets/alice-lab/run", data={"csrf": token, "command": ""})
    assert r.status_code == 400


def test_a_stale_edit_is_a_conflict_and_keeps_the_newer_version(lab):
    alice = signed_in(lab.url, "alice")
    form = alice.get("/worksheets/alice-lab/edit").text
    token, head = csrf_of(form), re.search(r'name="head" value="([0-9a-f]+)"', form).group(1)
    text = re.search(r"<textarea name=\"text\"[^>]*>(.*?)</textarea>", form, re.S).group(1)
    # someone else saves first
    r = alice.post("/worksheets/alice-lab/add", data={"csrf": token, "text": "the newer line"})
    assert r.status_code == 303
    r = alice.post("/worksheets/alice-lab/edit", data={"csrf": token, "head": head,
                                                       "text": "stale replacement\n"})
    assert r.status_code == 409 and "changed since" in r.text
    assert "stale replacement" in r.text  # the person's text is kept for them
    printed = lab.on_server(["print", "alice-lab"]).stdout
    assert "the newer line" in printed and "stale replacement" not in printed
    assert text  # the form held the text form


def test_raw_files_are_never_served_as_this_sites_html(lab):
    (lab.alice / "page.html").write_text("<script>alert(1)</script>")
    bid = lab.cl(["upload", "page.html"], lab.alice).stdout.strip()
    lab.cl(["push", "origin"], lab.alice, env={"CL_TOKEN": lab.alice_token})
    alice = signed_in(lab.url, "alice")
    r = alice.get(f"/bundles/{bid}/raw/")
    assert r.status_code == 200
    assert not r.headers["content-type"].startswith("text/html")
    assert "sandbox" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_a_removed_user_loses_the_session(lab):
    lab.cl(["server", "user", "add", "carol", lab.server], lab.base, input="carol-password\n")
    carol = signed_in(lab.url, "carol")
    assert "signed in as <b>carol</b>" in carol.get("/").text
    lab.cl(["server", "user", "rm", "carol", lab.server], lab.base)
    assert "signed in as" not in carol.get("/").text


def test_sign_out_ends_the_session(lab):
    alice = signed_in(lab.url, "alice")
    token = csrf_of(alice.get("/").text)
    r = alice.post("/signout", data={"csrf": token})
    assert r.status_code == 303
    assert "Max-Age=0" in _cookie(r, "cl_session")
    assert alice.get("/worksheets/alice-lab").status_code == 403


def test_a_shared_worksheet_hides_the_bundles_it_does_not_share(lab):
    """Bob may read alice-shared (public read) but not alice's bundle on
    it: its row keeps its place, its name, values and contents do not show."""
    env = {"CL_TOKEN": lab.alice_token}
    lab.cl(["new", "--no-link", "alice-shared"], lab.alice)
    lab.cl(["add", "-m", "shared notes", "--dest-worksheet", "alice-shared"], lab.alice)
    lab.cl(["add", "bundle", "0x" + lab.data, "--dest-worksheet", "alice-shared"], lab.alice)
    lab.cl(["add", "-w", "alice-lab", "--dest-worksheet", "alice-shared"], lab.alice)
    lab.cl(["push", "origin", "alice-shared"], lab.alice, env=env)
    lab.cl(["wperm", "origin::alice-shared", "public", "read"], lab.alice, env=env)
    bob = signed_in(lab.url, "bob")
    page = bob.get("/worksheets/alice-shared")
    assert page.status_code == 200 and "shared notes" in page.text
    assert "(private)" in page.text
    assert "data.txt" not in page.text and "alpha" not in page.text and "11 B" not in page.text
    assert "alice-lab" not in page.text  # the name of a linked worksheet bob may not read
    states = bob.get("/worksheets/alice-shared/states").json()["states"]
    assert lab.data not in states
    assert bob.get(f"/bundles/0x{lab.data}").status_code == 403
    # alice herself sees it all
    mine = signed_in(lab.url, "alice").get("/worksheets/alice-shared").text
    assert "data.txt" in mine and "alice-lab" in mine
    # and anyone, signed in or not, finds a public worksheet in the list
    anonymous = httpx.Client(base_url=lab.url, timeout=60)
    assert "alice-shared" in anonymous.get("/").text
    public = anonymous.get("/worksheets/alice-shared")
    assert public.status_code == 200 and "shared notes" in public.text and "data.txt" not in public.text
    assert 'id="edit-link"' not in public.text and 'id="run-form"' not in public.text


def test_file_browser_previews_text_and_images_and_downloads(lab):
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
    folder = lab.alice / "results"
    folder.mkdir()
    (folder / "plot.png").write_bytes(png)
    (folder / "notes.txt").write_text("hello <b>notes</b>\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "deep.txt").write_text("deep\n")
    bid = lab.cl(["upload", "results"], lab.alice).stdout.strip()
    lab.cl(["push", "origin"], lab.alice, env={"CL_TOKEN": lab.alice_token})
    alice = signed_in(lab.url, "alice")
    page = alice.get(f"/bundles/{bid}").text
    for name in ("plot.png", "notes.txt", "sub/"):
        assert name in page
    assert "owner <b>alice</b>" in page
    text = alice.get(f"/bundles/{bid}/files/notes.txt").text
    assert "hello &lt;b&gt;notes&lt;/b&gt;" in text  # escaped, shown as text
    image = alice.get(f"/bundles/{bid}/files/plot.png").text
    assert f'src="/bundles/{bid}/raw/plot.png"' in image
    raw = alice.get(f"/bundles/{bid}/raw/plot.png")
    assert raw.headers["content-type"] == "image/png" and raw.content == png
    assert "deep.txt" in alice.get(f"/bundles/{bid}/files/sub").text
    dl = alice.get(f"/bundles/{bid}/raw/sub/deep.txt", params={"download": "1"})
    assert dl.content == b"deep\n" and dl.headers["content-disposition"].startswith("attachment")


def test_a_run_made_from_the_page_is_its_makers_and_shows_its_provenance(lab):
    alice = signed_in(lab.url, "alice")
    token = csrf_of(alice.get("/worksheets/alice-lab").text)
    r = alice.post("/worksheets/alice-lab/run", data={"csrf": token, "command": "cat d > copy",
                                                      "dependencies": "d:data.txt", "name": "copier"})
    assert r.status_code == 303
    listing = json.loads(lab.on_server(["ls", "-w", "alice-lab", "--json"]).stdout)
    rows = listing["bundles"] if isinstance(listing, dict) else listing
    [bid] = [r["id"][2:] for r in rows if r["name"] == "copier"]
    page = alice.get(f"/bundles/0x{bid}").text
    assert "owner <b>alice</b>" in page
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert f"0x{lab.data}" in svg and f"0x{bid}" in svg  # the dependency and the run, linked
    # nor may alice read root's data through a run of hers
    (lab.base / "root-data.txt").write_text("root only\n")
    theirs = lab.on_server(["upload", lab.base / "root-data.txt", "-w", "secret"]).stdout.strip()
    r = alice.post("/worksheets/alice-lab/run", data={"csrf": token, "command": "cat d",
                                                      "dependencies": f"d:{theirs}", "name": "thief"})
    assert r.status_code == 403 and "may not read" in r.text
    assert "thief" not in lab.on_server(["ls", "-w", "alice-lab"]).stdout


def test_commands_in_edited_markup_are_refused_not_run(lab):
    alice = signed_in(lab.url, "alice")
    form = alice.get("/worksheets/alice-lab/edit").text
    token, head = csrf_of(form), re.search(r'name="head" value="([0-9a-f]+)"', form).group(1)
    before = lab.on_server(["print", "alice-lab"]).stdout
    r = alice.post("/worksheets/alice-lab/edit", data={"csrf": token, "head": head,
                                                       "text": f"new text\n!rm 0x{lab.data}\n"})
    assert r.status_code == 400 and "not run from the web page" in r.text
    assert lab.on_server(["print", "alice-lab"]).stdout == before
    assert lab.on_server(["info", "0x" + lab.data]).returncode == 0


def test_pages_allow_only_this_servers_scripts_and_refuse_huge_forms(lab):
    alice = signed_in(lab.url, "alice")
    page = alice.get("/worksheets/alice-lab")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'self'" in csp
    assert "<script>" not in page.text  # only <script src=…/static/web.js>
    token = csrf_of(page.text)
    r = alice.post("/worksheets/alice-lab/add", data={"csrf": token, "text": "x" * (5 << 20)})
    assert r.status_code == 413
    r = httpx.post(lab.url + "/signin", data={"user": "x" * (5 << 20)}, timeout=60)
    assert r.status_code == 413


def test_sign_in_from_a_refusal_comes_back_and_never_leaves_the_site(lab):
    client = httpx.Client(base_url=lab.url, follow_redirects=False, timeout=60)
    refusal = client.get("/worksheets/alice-lab").text
    assert 'href="/signin?next=/worksheets/alice-lab"' in refusal
    form = client.get("/signin", params={"next": "/worksheets/alice-lab"}).text
    r = client.post("/signin", data={"csrf": csrf_of(form), "next": "/worksheets/alice-lab",
                                     "user": "alice", "password": "alice-password"})
    assert r.status_code == 303 and r.headers["location"] == "/worksheets/alice-lab"
    for away in ("//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)"):
        other = httpx.Client(base_url=lab.url, follow_redirects=False, timeout=60)
        form = other.get("/signin", params={"next": away}).text
        assert "evil" not in form and "javascript" not in form
        r = other.post("/signin", data={"csrf": csrf_of(form), "next": away,
                                        "user": "alice", "password": "alice-password"})
        assert r.status_code == 303 and r.headers["location"] == "/", away


# --- publishing another's data by naming it (attack tests) ---------------------------------

def _roots_bundle(lab, name):
    (lab.base / name).write_text(f"{name}: root only\n")
    return lab.on_server(["upload", lab.base / name, "-w", "secret"]).stdout.strip()


def _edit(client, ws, change):
    form = client.get(f"/worksheets/{ws}/edit").text
    token, head = csrf_of(form), re.search(r'name="head" value="([0-9a-f]+)"', form).group(1)
    import html
    text = html.unescape(re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', form, re.S).group(1))
    return client.post(f"/worksheets/{ws}/edit", data={"csrf": token, "head": head, "text": change(text)})


def _secret_id(lab):
    rows = json.loads(lab.on_server(["wls", "--json"]).stdout)
    rows = rows["worksheets"] if isinstance(rows, dict) else rows
    return next(r["id"] for r in rows if r["name"] == "secret")


@pytest.mark.parametrize("how", ["edit", "add"])
@pytest.mark.parametrize("what", ["bundle id", "bundle name", "worksheet"])
def test_naming_what_one_may_not_read_is_refused(lab, how, what):
    """An item naming another's bundle or worksheet would put it in this
    worksheet's closure, which its readers may fetch: refused, unchanged."""
    name = f"theirs-{how}-{what.replace(' ', '-')}.txt"
    bid = _roots_bundle(lab, name)
    ref = {"bundle id": "{" + bid + "}", "bundle name": "{" + name + "}",
           "worksheet": "{{" + _secret_id(lab) + "}}"}[what]
    alice = signed_in(lab.url, "alice")
    before = lab.on_server(["print", "alice-lab"]).stdout
    if how == "edit":
        r = _edit(alice, "alice-lab", lambda text: text + ref + "\n")
    else:
        r = alice.post("/worksheets/alice-lab/add", data={"csrf": csrf_of(alice.get("/").text), "text": ref})
    assert r.status_code in (403, 404), r.text
    assert bid[2:] not in r.text and "root only" not in r.text
    after = lab.on_server(["print", "alice-lab"]).stdout
    assert after == before


def test_the_editor_of_a_worksheet_holding_unreadable_items_is_refused_the_text(lab):
    """Bob may change alice-team (his group has all) but not read alice's
    bundle on it: its text form would name it, so the editor is refused."""
    env = {"CL_TOKEN": lab.alice_token}
    lab.cl(["gnew", "editors"], lab.alice, env=env)
    lab.cl(["uadd", "bob", "editors"], lab.alice, env=env)
    lab.cl(["new", "--no-link", "alice-team"], lab.alice)
    lab.cl(["add", "-m", "team notes", "--dest-worksheet", "alice-team"], lab.alice)
    lab.cl(["add", "bundle", "0x" + lab.data, "--dest-worksheet", "alice-team"], lab.alice)
    lab.cl(["push", "origin", "alice-team"], lab.alice, env=env)
    lab.cl(["wperm", "origin::alice-team", "editors", "all"], lab.alice, env=env)
    bob = signed_in(lab.url, "bob")
    page = bob.get("/worksheets/alice-team")
    assert page.status_code == 200 and "team notes" in page.text and "data.txt" not in page.text
    r = bob.get("/worksheets/alice-team/edit")
    assert r.status_code == 403 and "data.txt" not in r.text and lab.data not in r.text
    # adding text is still fine: it names nothing of anyone's
    r = bob.post("/worksheets/alice-team/add", data={"csrf": csrf_of(page.text), "text": "bob's line"})
    assert r.status_code == 303
    assert "bob's line" in lab.on_server(["print", "alice-team"]).stdout


def test_provenance_shows_anothers_descendant_only_as_private(lab):
    made = lab.on_server(["make", f"d:0x{lab.data}", "-n", "roots-secret-make", "-w", "secret"]).stdout.strip()
    page = signed_in(lab.url, "alice").get(f"/bundles/0x{lab.data}").text
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "(private)" in svg
    assert "roots-secret-make" not in page and made[2:12] not in page


def test_a_run_waiting_for_its_dependency_has_a_page_and_a_summary(lab):
    alice = signed_in(lab.url, "alice")
    token = csrf_of(alice.get("/worksheets/alice-lab").text)
    for command, deps, name in (("sleep 20", "", "slow"), ("cat a/stdout", "a:slow", "after-slow")):
        r = alice.post("/worksheets/alice-lab/run", data={"csrf": token, "command": command,
                                                          "dependencies": deps, "name": name})
        assert r.status_code == 303, r.text
    rows = json.loads(lab.on_server(["ls", "-w", "alice-lab", "--json"]).stdout)
    rows = rows["bundles"] if isinstance(rows, dict) else rows
    [row] = [r for r in rows if r["name"] == "after-slow"]
    page = alice.get(f"/bundles/{row['id']}")
    assert page.status_code == 200
    if row["state"] in ("created", "staged"):
        assert "no contents yet" in page.text
    assert alice.get(f"/bundles/{row['id']}/summary").status_code == 200
    out = alice.get(f"/bundles/{row['id']}/output/stdout").json()
    assert out["offset"] == 0 and out["final"] is False

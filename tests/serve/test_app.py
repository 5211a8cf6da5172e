"""The web app through FastAPI's TestClient on a real store: sessions, CSRF, roles, headers,
escaping, and the review actions as htmx and as plain form posts."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tonewatch.serve.security import CSP
from tonewatch.serve.store import load_pairs
from tonewatch.serve.store import models as m

from .conftest import CSRF, log_in

HOSTILE_NAME = '<img src=x onerror="window.__pwned=1">Mallory'
HOSTILE_TEXT = (
    "Fix it now <script>window.__pwned = 2</script> or else "
    '<a href="javascript:alert(3)">click</a> you idiots'
)


def _ids(session) -> dict[str, int]:
    flag = session.scalar(select(m.Flag).order_by(m.Flag.id))
    return {
        "client_id": session.scalar(select(m.Client.id).order_by(m.Client.id)),
        "conversation_id": flag.conversation_id,
        "flag_id": flag.id,
        "turn_id": flag.turn_id,
        "user_id": session.scalar(select(m.User.id).order_by(m.User.id)),
    }


def _routes(app, method: str) -> list[str]:
    """Every route of the review UI's routers answering ``method`` (but the login form)."""
    from tonewatch.serve.routes import admin, auth, clients, conversations, reviews

    routers = (auth, clients, conversations, reviews, admin)
    return sorted(
        route.path
        for module in routers
        for route in module.router.routes
        if method in getattr(route, "methods", ()) and route.path != "/login"
    )


def _fill(path: str, ids: dict[str, int]) -> str:
    return re.sub(r"\{(\w+)\}", lambda match: str(ids[match.group(1)]), path)


def test_app_no_page_but_login_without_a_session(app, loaded) -> None:
    ids = _ids(loaded)
    client = TestClient(app)
    pages = _routes(app, "GET")
    assert {"/clients", "/conversations/{conversation_id}", "/admin", "/audit"} <= set(pages)
    for path in pages:
        response = client.get(_fill(path, ids), follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path
        assert "Kowalski" not in response.text
    for path in _routes(app, "POST"):
        response = client.post(_fill(path, ids), data={"label": "threat"})
        assert response.status_code == 401, path
    assert client.get("/login").status_code == 200
    assert loaded.scalar(select(func.count(m.Review.id))) == 0


def test_app_every_post_refuses_a_wrong_or_missing_csrf_token(app, loaded, client_as) -> None:
    ids = _ids(loaded)
    admin = client_as("adam")
    form = {"label": "threat", "tone": "hostile", "start": "0", "end": "3", "quote": "abc",
            "name": "eve", "role": "admin", "password": "x" * 12}  # fmt: skip
    posts = _routes(app, "POST")
    assert "/flags/{flag_id}/confirm" in posts and "/admin/users" in posts
    for path in posts:
        url = _fill(path, ids)
        for data, headers in (
            ({**form, "csrf_token": "wrong"}, {}),
            (form, {}),
            (form, {"X-CSRF-Token": "wrong", "HX-Request": "true"}),
        ):
            response = admin.post(url, data=data, headers=headers, follow_redirects=False)
            assert response.status_code == 403, (path, data.get("csrf_token"), headers)
    assert loaded.scalar(select(func.count(m.Review.id))) == 0
    assert loaded.scalar(select(func.count(m.User.id))) == 3
    # The right token, in the form or in htmx's header, is accepted.
    confirm = _fill("/flags/{flag_id}/confirm", ids)
    ok = admin.post(confirm, data={"csrf_token": admin.csrf}, follow_redirects=False)
    assert ok.status_code == 303
    ok = admin.post(confirm, headers={"X-CSRF-Token": admin.csrf, "HX-Request": "true"})
    assert ok.status_code == 200


def test_app_login_form_has_its_own_csrf_token(app, loaded) -> None:
    client = TestClient(app)
    token = CSRF.search(client.get("/login").text).group(1)
    client.cookies.clear()  # a cross-site form post has the field but not the cookie
    refused = client.post(
        "/login", data={"name": "adam", "password": "correct horse battery staple",
                        "csrf_token": token}, follow_redirects=False,
    )  # fmt: skip
    assert refused.status_code == 403 and "tonewatch_session" not in refused.cookies


def test_app_roles_guard_the_lead_and_admin_pages(app, loaded, client_as) -> None:
    rita, lena, adam = client_as("rita"), client_as("lena"), client_as("adam")
    for path in ("/admin", "/audit", "/export/reviews.jsonl"):
        assert rita.get(path).status_code == 403, path
    new_user = {"name": "eve", "role": "admin", "password": "x" * 12, "csrf_token": rita.csrf}
    assert rita.post("/admin/users", data=new_user).status_code == 403
    assert rita.post("/admin/recompute", data={"csrf_token": rita.csrf}).status_code == 403
    assert "/admin" not in rita.get("/clients").text
    assert lena.get("/audit").status_code == 200 and lena.get("/admin").status_code == 403
    assert adam.get("/admin").status_code == 200
    made = adam.post("/admin/users", data={**new_user, "csrf_token": adam.csrf},
                     follow_redirects=False)  # fmt: skip
    assert made.status_code == 303
    assert loaded.scalar(select(m.User.role).where(m.User.name == "eve")) == "admin"


def test_app_security_headers_on_every_response(app, loaded, client_as) -> None:
    rita = client_as("rita")
    responses = [
        TestClient(app).get("/login"),
        rita.get("/clients"),
        rita.get("/static/htmx.min.js"),
        rita.get("/conversations/999999"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 404]
    for response in responses:
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self';" in CSP and "unsafe" not in CSP
    assert responses[1].headers["cache-control"] == "no-store"
    cookie = rita.cookies.jar
    session_cookie = next(c for c in cookie if c.name == "tonewatch_session")
    assert session_cookie.has_nonstandard_attr("HttpOnly")


def test_app_renders_hostile_text_escaped(app, loaded, client_as, scenarios) -> None:
    thread = scenarios.Thread(
        "xss", "mallory@evil.test", scenarios.Channel.email, "mail/x.mbox", HOSTILE_NAME
    )
    thread.client_says(HOSTILE_TEXT, scenarios.at(1, 2, 12), "hostile", personal_attack="idiots")
    conversation, results = thread.pair()
    conversation = conversation.model_copy(update={"subject": "<script>alert('s')</script>"})
    load_pairs(loaded, [(conversation, results)])
    conversation_id = loaded.scalar(select(m.Conversation.id).where(m.Conversation.key == "xss"))
    page = client_as("rita").get(f"/conversations/{conversation_id}").text
    assert "&lt;script&gt;window.__pwned = 2&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=" in page and "&lt;script&gt;alert(" in page
    assert '<a href="javascript' not in page and "<script>window" not in page
    assert re.findall(r"<script[^>]*>", page) == [
        '<script src="/static/htmx.min.js" defer>', '<script src="/static/app.js" defer>',
    ]  # fmt: skip
    assert 'style="' not in page and "onerror=" not in page.replace("onerror=&#34;", "")
    assert '<mark class="f-abuse" title="personal attack">idiots</mark>' in page


def test_app_review_actions_answer_htmx_with_the_turn(app, loaded, client_as) -> None:
    ids = _ids(loaded)
    lena = client_as("lena")
    hx = {"HX-Request": "true", "X-CSRF-Token": lena.csrf}
    fragment = lena.post(f"/flags/{ids['flag_id']}/reject", headers=hx)
    assert fragment.status_code == 200 and fragment.text.startswith("<article")
    assert f'data-flag="{ids["flag_id"]}" data-status="rejected"' in fragment.text
    refused = lena.post(f"/turns/{ids['turn_id']}/tone", data={"tone": "furious"}, headers=hx)
    assert refused.status_code == 400 and "furious" in refused.text
    missing = lena.post("/flags/999999/confirm", headers=hx)
    assert missing.status_code == 404
    audit = lena.get("/audit?action=reject").text
    assert "lena" in audit and "tonewatch-test-0" in audit and "open → rejected" in audit


def test_app_login_logout_and_redirects(app, loaded) -> None:
    client = TestClient(app)
    assert log_in(client, "rita", "not the password").status_code == 401
    assert "tonewatch_session" not in client.cookies
    form = client.get("/login?next=//evil.test/x")
    assert 'name="next" value="/clients"' in form.text  # no open redirect
    entered = log_in(client, "rita")
    assert entered.status_code == 303 and entered.headers["location"] == "/clients"
    token = client.cookies["tonewatch_session"]
    assert client.get("/clients").status_code == 200
    csrf = CSRF.search(client.get("/clients").text).group(1)
    assert (
        client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    )
    stale = TestClient(app, cookies={"tonewatch_session": token})
    assert stale.get("/clients", follow_redirects=False).status_code == 303
    deep = TestClient(app).get("/conversations/3?x=1", follow_redirects=False)
    assert deep.headers["location"] == "/login?next=%2Fconversations%2F3%3Fx%3D1"


def test_app_client_list_filters_and_reports_bad_values(app, loaded, client_as) -> None:
    rita = client_as("rita")
    page = rita.get("/clients?lang=pl&flag=&verdict=pattern").text
    assert "Marek Kowalski" in page and "Omar Haddad" not in page
    odd = rita.get("/clients?flag=rudeness&since=yesterday").text
    assert "&#39;rudeness&#39; is not one of" in odd and "is not a date" in odd
    assert "Omar Haddad" in odd  # the bad filters are ignored, not applied
    assert rita.get("/clients?page=0").status_code == 400


def test_app_turn_scores_on_demand(app, loaded, client_as) -> None:
    rita = client_as("rita")
    ids = _ids(loaded)
    page = rita.get(f"/conversations/{ids['conversation_id']}").text
    assert f'hx-get="/turns/{ids["turn_id"]}/scores"' in page and "<meter" not in page
    fragment = rita.get(f"/turns/{ids['turn_id']}/scores", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.count("<meter") >= 12
    whole = rita.get(f"/turns/{ids['turn_id']}/scores")  # without JavaScript: a page
    assert "<html" in whole.text and whole.text.count("<meter") >= 12
    staff = loaded.scalar(select(m.Turn.id).where(m.Turn.scores.is_(None)).limit(1))
    if staff is not None:
        assert rita.get(f"/turns/{staff}/scores").status_code == 404
    assert rita.get("/turns/999999/scores").status_code == 404

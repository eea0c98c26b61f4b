"""The "nhsuk" crispy-forms template pack emits NHS.UK frontend markup, and base.html keeps to the CSP.

Rendering only: no database.
"""

import re
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import constants as message_levels
from django.contrib.messages.storage.base import Message
from django.core.paginator import Paginator
from django.template import engines
from django.template.loader import get_template, render_to_string
from django.test import RequestFactory
from django.test.html import parse_html
from django.urls import resolve


class ReferralForm(forms.Form):
    name = forms.CharField(
        help_text="As on their GP record", error_messages={"required": "Enter the patient name"}
    )
    practice = forms.ChoiceField(
        choices=[("", "Choose a practice"), ("A81001", "Oak Surgery")],
        error_messages={"required": "Choose their practice"},
    )
    consent = forms.BooleanField(
        label="The patient agrees to the referral",
        error_messages={"required": "Confirm the patient agrees"},
    )
    priority = forms.ChoiceField(
        choices=[("routine", "Routine"), ("urgent", "Urgent")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a priority"},
    )
    notes = forms.CharField(widget=forms.Textarea, required=False)

    def clean(self):
        if not self.cleaned_data.get("name"):
            raise forms.ValidationError("These details do not match a registered patient")
        return self.cleaned_data


INVALID_DATA = {"name": "", "practice": "", "notes": "Lives alone"}
VALID_DATA = {"name": "Jane Smith", "practice": "A81001", "consent": "on", "priority": "routine"}


def render_form(form: ReferralForm, mode: str) -> str:
    if mode == "filter":
        source = "{% load crispy_forms_tags %}{{ form|crispy }}"
    else:
        form.helper = FormHelper()
        form.helper.add_input(Submit("save", "Save and continue"))
        source = "{% load crispy_forms_tags %}{% crispy form %}"
    return engines["django"].from_string(source).render({"form": form})


class _StartTags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def start_tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _StartTags()
    parser.feed(html)
    return parser.tags


def element(html: str, element_id: str) -> tuple[str, dict[str, str | None]]:
    """The one start tag with this id: (tag name, attributes)."""
    (found,) = [(tag, attrs) for tag, attrs in start_tags(html) if attrs.get("id") == element_id]
    return found


def classes(attrs: dict[str, str | None]) -> set[str]:
    return set((attrs.get("class") or "").split())


@pytest.mark.parametrize("mode", ["filter", "tag"])
def test_invalid_form_has_error_summary_linking_to_each_field(mode):
    html = render_form(ReferralForm(data=INVALID_DATA), mode)
    document = parse_html(html)

    assert html.count('class="nhsuk-error-summary"') == 1
    assert (
        parse_html(
            '<div role="alert"><h2 class="nhsuk-error-summary__heading">There is a problem</h2>'
            '<div class="nhsuk-error-summary__body"><ul class="nhsuk-list nhsuk-error-summary__list">'
            "<li>These details do not match a registered patient</li>"
            '<li><a href="#id_name">Enter the patient name</a></li>'
            '<li><a href="#id_practice">Choose their practice</a></li>'
            '<li><a href="#id_consent">Confirm the patient agrees</a></li>'
            '<li><a href="#id_priority_0">Choose a priority</a></li>'
            "</ul></div></div>"
        )
        in document
    )
    # The summary comes first, above the fields.
    assert html.index("nhsuk-error-summary") < html.index("nhsuk-form-group")


@pytest.mark.parametrize("mode", ["filter", "tag"])
def test_invalid_text_input_has_error_beside_it_and_hint(mode):
    html = render_form(ReferralForm(data=INVALID_DATA), mode)
    document = parse_html(html)

    assert re.search(
        r'<div class="nhsuk-form-group nhsuk-form-group--error">\s*'
        r'<label class="nhsuk-label" for="id_name">Name</label>\s*'
        r'<div class="nhsuk-hint" id="id_name-hint">As on their GP record</div>\s*'
        r'<span class="nhsuk-error-message" id="id_name-error">',
        html,
    )
    assert (
        parse_html(
            '<span class="nhsuk-error-message" id="id_name-error">'
            '<span class="nhsuk-u-visually-hidden">Error:</span> Enter the patient name</span>'
        )
        in document
    )
    tag, attrs = element(html, "id_name")
    assert tag == "input"
    assert {"nhsuk-input", "nhsuk-input--error"} <= classes(attrs)
    assert attrs["aria-describedby"] == "id_name-hint id_name-error"


@pytest.mark.parametrize("mode", ["filter", "tag"])
def test_select_checkbox_radios_and_textarea_use_nhsuk_components(mode):
    html = render_form(ReferralForm(data=INVALID_DATA), mode)

    tag, attrs = element(html, "id_practice")
    assert tag == "select"
    assert {"nhsuk-select", "nhsuk-select--error"} <= classes(attrs)
    assert attrs["aria-describedby"] == "id_practice-error"

    # A BooleanField is one checkbox, labelled beside the box.
    tag, attrs = element(html, "id_consent")
    assert (tag, attrs["type"]) == ("input", "checkbox")
    assert "nhsuk-checkboxes__input" in classes(attrs)
    assert re.search(
        r'<div class="nhsuk-checkboxes" data-module="nhsuk-checkboxes">\s*<div class="nhsuk-checkboxes__item">',
        html,
    )
    assert (
        '<label class="nhsuk-label nhsuk-checkboxes__label" for="id_consent">'
        "The patient agrees to the referral</label>" in html
    )

    # Radios: a fieldset whose legend is the label, described by the error.
    assert re.search(
        r'<fieldset class="nhsuk-fieldset" aria-describedby="id_priority-error">\s*'
        r'<legend class="nhsuk-fieldset__legend">Priority</legend>',
        html,
    )
    assert '<div class="nhsuk-radios" data-module="nhsuk-radios">' in html
    radios = [attrs for tag, attrs in start_tags(html) if attrs.get("name") == "priority"]
    assert [(r["id"], r["type"], r["value"], r["class"]) for r in radios] == [
        ("id_priority_0", "radio", "routine", "nhsuk-radios__input"),
        ("id_priority_1", "radio", "urgent", "nhsuk-radios__input"),
    ]

    # Optional fields say so; required ones carry no marker.
    tag, attrs = element(html, "id_notes")
    assert tag == "textarea"
    assert classes(attrs) >= {"nhsuk-textarea"}
    assert "nhsuk-textarea--error" not in classes(attrs)
    assert '<label class="nhsuk-label" for="id_notes">Notes (optional)</label>' in html
    assert '<label class="nhsuk-label" for="id_name">Name</label>' in html
    assert "*" not in html


def test_crispy_tag_renders_form_and_submit_button():
    html = render_form(ReferralForm(data=INVALID_DATA), "tag")

    assert html.strip().startswith('<form method="post" novalidate>')
    assert parse_html(
        '<button class="nhsuk-button" data-module="nhsuk-button" data-prevent-double-click="true" '
        'type="submit" name="save" value="Save and continue" id="submit-id-save">'
        "Save and continue</button>"
    ) in parse_html(html)


@pytest.mark.parametrize("mode", ["filter", "tag"])
@pytest.mark.parametrize("data", [None, VALID_DATA], ids=["unbound", "valid"])
def test_form_without_errors_has_no_error_markup(mode, data):
    form = ReferralForm(data=data)
    assert form.is_valid() is (data is not None)

    html = render_form(form, mode)

    assert "nhsuk-error-summary" not in html
    assert "nhsuk-form-group--error" not in html
    assert "nhsuk-error-message" not in html
    assert element(html, "id_name")[1]["aria-describedby"] == "id_name-hint"
    assert "aria-describedby" not in element(html, "id_practice")[1]


# --- base.html --------------------------------------------------------------------------------------

PAGE = '{% extends "base.html" %}{% block title %}Example{% endblock %}{% block content %}<h1>Example</h1>{% endblock %}'


def render_page(context: dict | None = None, path: str = "/") -> str:
    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    request.resolver_match = resolve(path)
    return engines["django"].from_string(PAGE).render(context or {}, request)


def test_base_for_anonymous_request_keeps_to_the_content_security_policy():
    html = render_page()
    tags = start_tags(html)

    assert [attrs.get("src") for tag, attrs in tags if tag == "script"] == [
        "/static/vendor/htmx/htmx.min.js",
        "/static/js/app.js",
    ]
    assert "<style" not in html
    assert not [tag for tag, attrs in tags if "style" in attrs]
    assert not [tag for tag, attrs in tags if any(name.startswith("on") for name in attrs)]
    assert "http" not in html
    assets = [
        attrs.get("href") or attrs.get("src") for tag, attrs in tags if tag in {"link", "script", "img"}
    ]
    assert assets and all(url.startswith("/static/") for url in assets)


def test_base_page_structure():
    html = render_page()
    tags = start_tags(html)

    assert tags[0] == ("html", {"lang": "en-GB"})
    assert "<title>Example \N{EN DASH} PCN Care Coordination</title>" in html
    assert (
        "a",
        {"class": "nhsuk-skip-link", "data-module": "nhsuk-skip-link", "href": "#maincontent"},
    ) in tags
    assert [attrs for tag, attrs in tags if tag == "main"] == [
        {"class": "nhsuk-main-wrapper", "id": "maincontent"}
    ]
    assert html.count("<h1>") == 1
    assert '<span class="nhsuk-header__service-name">PCN Care Coordination</span>' in html
    assert (
        "a",
        {
            "class": "nhsuk-header__service-logo",
            "href": "/",
            "aria-label": "NHS PCN Care Coordination homepage",
        },
    ) in tags
    # Anonymous: no account area, no navigation.
    assert "nhsuk-header__account" not in html
    assert "nhsuk-header__navigation" not in html
    body = next(attrs for tag, attrs in tags if tag == "body")
    assert re.fullmatch(r'\{"X-CSRFToken": "[A-Za-z0-9]{64}"\}', body["hx-headers"])


def test_base_header_for_signed_in_user_shows_name_roles_practices_navigation_and_sign_out():
    practice = SimpleNamespace(name="Oak Surgery", ods_code="A81001")
    html = render_page(
        {
            "user": SimpleNamespace(is_authenticated=True, full_name="Jane Smith", email="jane@example.org"),
            "header_memberships": [SimpleNamespace(practice=practice, get_role_display="Care coordinator")],
            "nav_items": [
                {"label": "Home", "url_name": "home"},
                {"label": "Audit", "url_name": "audit:event_list"},
                {"label": "Not built yet", "url_name": "nowhere:list"},
            ],
        }
    )
    document = parse_html(html)

    assert re.search(
        r'<li class="nhsuk-header__account-item">\s*<svg class="nhsuk-icon nhsuk-icon--user"[^>]*>.*?</svg>\s*'
        r"Jane Smith\s*</li>",
        html,
        re.S,
    )
    assert (
        parse_html('<li class="nhsuk-header__account-item">Care coordinator, Oak Surgery (A81001)</li>')
        in document
    )
    sign_out = re.search(
        r'<form class="nhsuk-header__account-form" action="/accounts/logout/" method="post" novalidate>.*?</form>',
        html,
        re.S,
    )
    assert sign_out
    assert 'name="csrfmiddlewaretoken"' in sign_out.group()
    assert '<button class="nhsuk-header__account-button">Sign out</button>' in sign_out.group()
    assert (
        parse_html(
            '<a class="nhsuk-header__navigation-link" href="/" aria-current="page">'
            '<strong class="nhsuk-header__navigation-item-current-fallback">Home</strong></a>'
        )
        in document
    )
    assert parse_html('<a class="nhsuk-header__navigation-link" href="/audit/">Audit</a>') in document
    assert "Not built yet" not in html


def test_base_renders_messages_at_the_top_of_main():
    html = render_page(
        {
            "messages": [
                Message(message_levels.SUCCESS, "Referral accepted"),
                Message(message_levels.ERROR, "The import failed"),
            ]
        }
    )
    document = parse_html(html)

    assert html.index('<main class="nhsuk-main-wrapper" id="maincontent">') < html.index("Referral accepted")
    assert html.index("The import failed") < html.index("<h1>")
    assert (
        parse_html(
            '<div class="nhsuk-notification-banner nhsuk-notification-banner--success" '
            'data-module="nhsuk-notification-banner" role="alert" aria-labelledby="message-1-title">'
            '<div class="nhsuk-notification-banner__header">'
            '<h2 class="nhsuk-notification-banner__title" id="message-1-title">Success</h2></div>'
            '<div class="nhsuk-notification-banner__content">'
            '<p class="nhsuk-notification-banner__heading">Referral accepted</p></div></div>'
        )
        in document
    )
    assert (
        parse_html(
            '<div class="nhsuk-error-summary"><div role="alert">'
            '<h2 class="nhsuk-error-summary__heading">There is a problem</h2>'
            '<div class="nhsuk-error-summary__body"><p>The import failed</p></div></div></div>'
        )
        in document
    )


def test_error_pages():
    request = RequestFactory().get("/nowhere/")
    request.user = AnonymousUser()

    not_found = render_to_string("404.html", request=request)
    forbidden = render_to_string("403.html", request=request)
    server_error = get_template("500.html").render()  # no request: context processors may be what failed

    assert "<title>Page not found \N{EN DASH} PCN Care Coordination</title>" in not_found
    assert "<h1>Page not found</h1>" in not_found
    assert "<h1>You do not have permission to see this page</h1>" in forbidden
    assert "<h1>Sorry, there is a problem with the service</h1>" in server_error
    assert "http" not in server_error


def test_title_says_error_when_the_form_has_errors():
    assert "<title>Error: Example" in render_page({"form": ReferralForm(data=INVALID_DATA)})
    assert "<title>Example" in render_page({"form": ReferralForm()})


def test_pagination_keeps_the_filters_and_elides_distant_pages():
    page = Paginator(list(range(500)), 20).page(7)
    html = render_to_string("includes/pagination.html", {"page": page, "query_string": "q=smith"})

    links = [(attrs["href"], attrs.get("aria-current")) for tag, attrs in start_tags(html) if tag == "a"]
    assert links == [
        ("?q=smith&page=6", None),  # previous
        ("?q=smith&page=1", None),
        ("?q=smith&page=5", None),
        ("?q=smith&page=6", None),
        ("?q=smith&page=7", "page"),
        ("?q=smith&page=8", None),
        ("?q=smith&page=9", None),
        ("?q=smith&page=25", None),
        ("?q=smith&page=8", None),  # next
    ]
    assert html.count("nhsuk-pagination__item--ellipsis") == 2
    assert render_to_string("includes/pagination.html", {"page": Paginator([1], 20).page(1)}).strip() == ""

"""Forms for the services directory: the search, and a service."""

from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from caseload.models import Service


class ServiceSearchForm(forms.Form):
    hide_optional = True  # every filter is optional: the NHS.UK pack need not say so on each one

    q = forms.CharField(
        label="Name or description",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    category = forms.ChoiceField(
        label="Category", required=False, choices=[("", "All categories"), *Service.Category.choices]
    )
    include_inactive = forms.BooleanField(label="Include services no longer offered", required=False)

    def __init__(self, *args: Any, can_administer: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not can_administer:
            del self.fields["include_inactive"]

    def filter(self, services: QuerySet[Service]) -> QuerySet[Service]:
        data = self.cleaned_data if self.is_valid() else {}
        if not data.get("include_inactive"):
            services = services.filter(is_active=True)
        if text := (data.get("q") or "").strip():
            services = services.filter(Q(name__icontains=text) | Q(description__icontains=text))
        if data.get("category"):
            services = services.filter(category=data["category"])
        return services


class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = ["name", "category", "description", "eligibility", "phone", "email", "website", "address",
                  "is_active"]  # fmt: skip
        labels = {
            "name": "Name of the service",
            "description": "What it offers",
            "eligibility": "Who can use it",
            "is_active": "Offered now (shown in the directory and can be chosen when signposting)",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "eligibility": forms.Textarea(attrs={"rows": 2}),
            "phone": forms.TextInput(attrs={"class": "nhsuk-input--width-20", "autocomplete": "off"}),
        }
        error_messages = {
            "name": {"required": "Enter the name of the service"},
            "category": {"required": "Select a category"},
            "email": {"invalid": "Enter an email address in the correct format, like name@example.org"},
            "website": {"invalid": "Enter a web address in the correct format, like https://example.org"},
        }

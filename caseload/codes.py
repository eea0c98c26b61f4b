"""SNOMED CT codes the product records, in one place (DESIGN.md "Codes").

Only concept ids seen in the sources listed in DOMAIN.md are given; every other activity keeps its
term with `snomed_id=None` until an id is taken from the NHS SNOMED CT release (TRUD). Never invent
an id: the coding export leaves the id column empty for those rows and says so.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    key: str
    term: str
    snomed_id: str | None


SOCIAL_PRESCRIBING_REFERRAL = Code(
    "social_prescribing", "Referral to social prescribing service", "871731000000106"
)
PAM_LEVEL = Code("pam", "Patient Activation Measure Level", "962851000000103")
PROACTIVE_CARE = Code("proactive_care", "Provision of proactive care", "934231000000106")
CONTINGENCY_PLAN = Code("contingency_plan", "Contingency plan", "325691000000100")
ADVANCE_CARE_PLANNING_DECLINED = Code("acp_declined", "Advance care planning declined", "713615000")
RESPECT_FORM = Code("respect", "ReSPECT form", "1382601000000107")
END_OF_LIFE_CARE_PLAN = Code("eol_care_plan", "End of life care plan", "736373009")
LTC_REVIEW = Code("ltc_review", "Chronic disease management annual review completed", "888461000000107")
MILD_FRAILTY = Code("mild_frailty", "Mild frailty", "925791000000100")
MODERATE_FRAILTY = Code("moderate_frailty", "Moderate frailty", "925831000000107")
SEVERE_FRAILTY = Code("severe_frailty", "Severe frailty", "925861000000102")

# Interventions a coordinator records on a contact. Those without an id are recorded as terms.
CONTACT_INTERVENTIONS: tuple[Code, ...] = (
    Code("care_coordination", "Care coordination", None),
    PROACTIVE_CARE,
    SOCIAL_PRESCRIBING_REFERRAL,
    Code("signposting", "Signposting to services", None),
    Code("health_coaching", "Health and wellbeing coaching", None),
    Code("benefits_advice", "Benefits advice", None),
    Code("employment_support", "Employment and training support", None),
    Code("carer_support", "Carer support", None),
    Code("medication_support", "Medication support", None),
    Code("self_management", "Self-management support", None),
    CONTINGENCY_PLAN,
    Code("advance_care_planning", "Advance care planning discussion", None),
    ADVANCE_CARE_PLANNING_DECLINED,
)
INTERVENTIONS_BY_KEY = {code.key: code for code in CONTACT_INTERVENTIONS}

# The interventions that go to the coding export: those with a SNOMED CT id. The others stay on the
# contact (and in reports) as terms; the contact form says which are coded.
CODED_INTERVENTION_KEYS: frozenset[str] = frozenset(
    code.key for code in CONTACT_INTERVENTIONS if code.snomed_id
)

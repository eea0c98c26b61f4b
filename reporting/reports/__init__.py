"""The shipped reports, one module each; `REPORTS` is the registry the pages, downloads and BI feed read."""

from reporting.reports import (
    care_plans,
    caseload,
    contacts,
    feedback,
    mdt,
    pam,
    recall,
    referrals,
    signposting,
    transfers,
)
from reporting.reports.base import Report

REPORTS: dict[str, Report] = {
    module.REPORT.key: module.REPORT
    for module in (
        caseload,
        contacts,
        care_plans,
        pam,
        mdt,
        referrals,
        transfers,
        recall,
        signposting,
        feedback,
    )
}

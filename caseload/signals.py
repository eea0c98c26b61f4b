"""Signals other apps listen to, so that caseload need not know them (the floors: pcn < caseload < …).

`population_imported` is sent once a population import has written patients and committed, with
`batch` (the ImportBatch). Call/recall keeps its registers in step from it.
"""

from django.dispatch import Signal

population_imported = Signal()

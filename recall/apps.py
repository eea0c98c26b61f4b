from django.apps import AppConfig

from caseload.signals import population_imported


class RecallConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recall"
    verbose_name = "Call and recall"

    def ready(self) -> None:
        # caseload sits on a lower floor and cannot call recall; it says when an import has written
        # patients, and recall queues its sync (caseload.signals).
        from recall.tasks import population_imported_receiver  # noqa: PLC0415 (models load after apps)

        population_imported.connect(population_imported_receiver, dispatch_uid="recall.population_imported")

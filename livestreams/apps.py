from django.apps import AppConfig


class LivestreamsConfig(AppConfig):
    name = "livestreams"
    default_auto_field = "django.db.models.BigAutoField"

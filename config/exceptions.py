"""Errors raised by services, and the one DRF handler that turns them into responses."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A business rule refused the request. Maps to 400 unless a subclass says otherwise."""

    status_code = 400

    def __init__(self, message: str, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


def form_add_application_error(form, exc: ApplicationError) -> None:
    """Show a service's refusal on the form that asked: per-field reasons on their fields, else the
    message at the top."""
    for field, errors in exc.extra.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    if not exc.extra:
        form.add_error(None, exc.message)


class TransitionError(ApplicationError):
    """An illegal status move: the resource is in a state that forbids it."""

    status_code = 409


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, ApplicationError):
        from rest_framework.response import Response

        return Response({"detail": exc.message, **exc.extra}, status=exc.status_code)
    return exception_handler(exc, context)

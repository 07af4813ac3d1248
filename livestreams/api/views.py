import django_filters
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from livestreams import services
from livestreams.api.access import managed_stream_or_403, stream_or_404
from livestreams.api.serializers import StreamOutputSerializer, StreamStatusSerializer, StrictSerializer
from livestreams.models import Stream
from livestreams.selectors import stream_get, stream_list_for_artist, stream_list_public


class StreamInputSerializer(StrictSerializer):
    title = serializers.CharField(max_length=140)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)
    visibility = serializers.ChoiceField(choices=Stream.Visibility.choices, required=False)
    chat_enabled = serializers.BooleanField(required=False)
    reactions_enabled = serializers.BooleanField(required=False)
    chat_mode = serializers.ChoiceField(choices=Stream.ChatMode.choices, required=False)
    quality_preset = serializers.ChoiceField(choices=Stream.QualityPreset.choices, required=False)
    record = serializers.BooleanField(required=False)
    thumbnail_url = serializers.URLField(max_length=500, required=False, allow_blank=True)

    def validate_title(self, value):
        if not value.strip():
            raise serializers.ValidationError("The title cannot be blank.")
        return value.strip()

    def validate_scheduled_at(self, value):
        if value is not None and value < timezone.now() - services.streams.SCHEDULE_GRACE:
            raise serializers.ValidationError("Must be in the future.")
        return value


class StreamFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Stream.Status.choices)
    artist = django_filters.CharFilter(field_name="artist__channel__slug")
    active = django_filters.BooleanFilter(method="filter_active", label="Live now")
    upcoming = django_filters.BooleanFilter(method="filter_upcoming", label="Scheduled, soonest first")
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title contains")

    class Meta:
        model = Stream
        fields = ["status", "artist", "active", "upcoming", "q"]

    def filter_active(self, queryset, name, value):
        live = {"status": Stream.Status.LIVE}
        return queryset.filter(**live) if value else queryset.exclude(**live)

    def filter_upcoming(self, queryset, name, value):
        if not value:
            return queryset.exclude(status=Stream.Status.SCHEDULED)
        return queryset.filter(status=Stream.Status.SCHEDULED).order_by("scheduled_at", "created_at")


class StreamListCreateApi(ListAPIView):
    """GET: public streams, paginated and filterable. POST: an artist creates a stream."""

    serializer_class = StreamOutputSerializer
    filterset_class = StreamFilter

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    def get_queryset(self):
        if self.request.query_params.get("mine") == "true" and self.request.user.is_authenticated:
            return stream_list_for_artist(artist=self.request.user)
        return stream_list_public()

    @extend_schema(request=StreamInputSerializer, responses={201: StreamOutputSerializer})
    def post(self, request):
        if not request.user.is_artist:
            raise PermissionDenied("Only artists can create streams. Become an artist from your profile.")
        incoming = StreamInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        stream = services.stream_create(artist=request.user, **incoming.validated_data)
        stream = stream_get(stream_id=stream.pk)
        return Response(StreamOutputSerializer(stream, context={"request": request}).data, status=201)


class StreamDetailApi(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(responses=StreamOutputSerializer)
    def get(self, request, stream_id):
        return Response(StreamOutputSerializer(stream_or_404(stream_id), context={"request": request}).data)

    @extend_schema(request=StreamInputSerializer(partial=True), responses=StreamOutputSerializer)
    def patch(self, request, stream_id):
        stream = managed_stream_or_403(request.user, stream_id)
        incoming = StreamInputSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        services.stream_update(stream=stream, data=incoming.validated_data)
        return Response(StreamOutputSerializer(stream_or_404(stream_id), context={"request": request}).data)


class StreamStatusApi(APIView):
    """The cheap polling endpoint: one query, no authentication, no joins."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses=StreamStatusSerializer)
    def get(self, request, stream_id):
        fields = ("status", "viewer_count", "started_at", "ended_at", "interrupted_at", "playback_id")
        stream = Stream.objects.only(*fields).filter(pk=stream_id).first()
        if stream is None:
            raise NotFound("No such stream.")
        return Response(StreamStatusSerializer(stream).data)


class _StreamActionApi(APIView):
    permission_classes = [IsAuthenticated]
    service = None  # the service to call

    @extend_schema(request=None, responses=StreamOutputSerializer)
    def post(self, request, stream_id):
        stream = managed_stream_or_403(request.user, stream_id)
        self.service(stream=stream)
        return Response(StreamOutputSerializer(stream_or_404(stream_id), context={"request": request}).data)


class StreamStartApi(_StreamActionApi):
    service = staticmethod(services.stream_start)


class StreamStopApi(_StreamActionApi):
    service = staticmethod(services.stream_end)


class StreamCancelApi(_StreamActionApi):
    service = staticmethod(services.stream_cancel)


class StreamRotateKeyApi(_StreamActionApi):
    service = staticmethod(services.stream_rotate_key)

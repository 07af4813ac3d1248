from django.db.models import prefetch_related_objects
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from livestreams.api.access import managed_stream_or_403
from streaming.relays import relays_for_stream
from streaming.selectors import health_samples_recent
from streaming.stats import health_sample_data


class StreamHealthApi(APIView):
    """The stream's latest health verdict and its recent samples. Owner and staff only."""

    permission_classes = [IsAuthenticated]

    class SampleSerializer(serializers.Serializer):
        taken_at = serializers.DateTimeField()
        bitrate_kbps = serializers.IntegerField()
        fps = serializers.FloatField(allow_null=True)
        source_fps = serializers.FloatField(allow_null=True)
        width = serializers.IntegerField(allow_null=True)
        height = serializers.IntegerField(allow_null=True)
        video_codec = serializers.CharField()
        audio_codec = serializers.CharField()
        uptime_seconds = serializers.IntegerField()
        clients = serializers.IntegerField(allow_null=True)
        health = serializers.CharField()
        reason = serializers.CharField()

    @extend_schema(responses=inline_serializer("StreamHealth", {
        "status": serializers.CharField(), "health": serializers.CharField(),
        "reason": serializers.CharField(), "updated_at": serializers.DateTimeField(allow_null=True),
        "publisher_active": serializers.BooleanField(), "is_interrupted": serializers.BooleanField(),
        "samples": SampleSerializer(many=True)}))
    def get(self, request, stream_id):
        stream = managed_stream_or_403(request.user, stream_id, what="see its health")
        raw = request.query_params.get("limit", "")
        limit = min(int(raw), 720) if raw.isdigit() and int(raw) > 0 else 60
        samples = [health_sample_data(s) for s in health_samples_recent(stream_id=stream.pk, limit=limit)]
        return Response({
            "status": stream.status, "health": stream.health, "reason": stream.health_reason,
            "updated_at": stream.health_updated_at, "publisher_active": stream.publisher_active,
            "is_interrupted": stream.is_interrupted, "samples": samples,
        })


class StreamRelayListApi(APIView):
    """The stream's relays (FFmpeg recording, thumbnails, ...) with state and latest progress.
    Owner and staff only."""

    permission_classes = [IsAuthenticated]

    class RelaySerializer(serializers.Serializer):
        id = serializers.IntegerField()
        kind = serializers.CharField()
        destination_id = serializers.IntegerField(allow_null=True)
        destination_name = serializers.CharField(source="destination.name", default=None, allow_null=True)
        state = serializers.CharField()
        should_run = serializers.BooleanField()
        restarts = serializers.IntegerField(source="restart_count")
        started_at = serializers.DateTimeField(allow_null=True)
        heartbeat_at = serializers.DateTimeField(allow_null=True)
        progress = serializers.DictField(source="last_progress")
        error_tail = serializers.CharField()
        failure_reason = serializers.CharField()

    @extend_schema(responses=inline_serializer("StreamRelays", {"relays": RelaySerializer(many=True)}))
    def get(self, request, stream_id):
        stream = managed_stream_or_403(request.user, stream_id, what="see its relays")
        relays = relays_for_stream(stream_id=stream.pk)
        prefetch_related_objects(relays, "destination")  # destination_name: one query, not one per relay
        for relay in relays:
            relay.stream = stream  # should_run reads it: no query per relay
        return Response({"relays": self.RelaySerializer(relays, many=True).data})

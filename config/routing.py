"""Every WebSocket route, one list per app."""

from livestreams.routing import websocket_urlpatterns as livestreams_ws

websocket_urlpatterns: list = [*livestreams_ws]

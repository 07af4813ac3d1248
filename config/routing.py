"""Every WebSocket route, one list per app."""

websocket_urlpatterns: list = []

import logging
import re

# Publish keys travel as "?key=<secret>" (OBS stream key) or "key=<secret>" (nginx-rtmp form
# fields); whatever logs a URL or a body, the secret never reaches a log line.
_KEY = re.compile(r"((?:^|[?&\s\"'])key=)[^&\s\"']+")


class RedactStreamKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _KEY.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True

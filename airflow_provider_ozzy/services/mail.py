"""Mail rules shared by MailWriter (SES or SMTP) and SESMailNotifier."""

from __future__ import annotations

import re

# one address: something, an '@', something, and never a line break (no header injection)
MAIL_ADDRESS = re.compile(r"[^\r\n]+@[^\r\n]+")

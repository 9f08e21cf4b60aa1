"""The console's route decorator: the worker page's HTML entrypoint (shared/page_http.py),
except that a request without a valid session (or whose session expired) goes to the
login page instead of an error."""
from werkzeug.utils import redirect

from services.gateway.console.session import ROOT
from shared.errors import Unauthorized
from shared.page_http import PageHttp, secured


class ConsolePage(PageHttp):
    def _problem(self, exc, path):
        if isinstance(exc, Unauthorized):     # the stale cookie is replaced at the next login
            return secured(redirect(f"{ROOT}/login", 303))
        return super()._problem(exc, path)


page = ConsolePage.decorator

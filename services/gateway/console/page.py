"""The console's route decorator: the worker page's HTML entrypoint (shared/page_http.py),
except that a request without a valid session (or whose session expired) goes to the
login page instead of an error; the portal's the same with its own login page."""
from werkzeug.utils import redirect

from services.gateway.console.session import PORTAL, ROOT
from shared.errors import Unauthorized
from shared.page_http import PageHttp, secured


class ConsolePage(PageHttp):
    login = f"{ROOT}/login"

    def _problem(self, exc, path):
        if isinstance(exc, Unauthorized):     # the stale cookie is replaced at the next login
            return secured(redirect(self.login, 303))
        return super()._problem(exc, path)


class PortalPage(ConsolePage):
    login = f"{PORTAL}/login"


page = ConsolePage.decorator
portal_page = PortalPage.decorator

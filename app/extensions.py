"""Flask extensions, created unbound here and initialised by create_app."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf import CSRFProtect

from app.db.base import db
from app.net import client_ip

__all__ = ["babel", "csrf", "db", "limiter", "login_manager"]
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
limiter = Limiter(key_func=client_ip, default_limits=[])

"""Extension objects, created without an app (bound in create_app)."""
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_mail import Mail
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

db = get_sqla_class()()
migrate = Migrate()
csrf = CSRFProtect()
mail = Mail()
# AppBuilder is created per app in create_app(): it keeps the views it registered,
# so one module-level instance could not serve two apps (tests build one per database).

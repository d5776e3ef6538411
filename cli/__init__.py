"""The operator CLI behind `python manage.py`."""

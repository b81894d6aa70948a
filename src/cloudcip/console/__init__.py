"""The analysts' web console under ``/console`` (A6, B3, B4, C3, C4, D1, D5): server-rendered pages
(Jinja2), a little plain JavaScript of its own, nothing fetched from elsewhere at run time."""

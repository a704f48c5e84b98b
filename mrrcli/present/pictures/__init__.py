"""Pictures (SPEC §11): chart specs as plain Vega-Lite dicts (specs), drawn offline with the
font shipped here (render), the one-page HTML report (page) and the e-mail that carries it
(mail). vl-convert is imported only when a picture is drawn, so the reports stay fast."""

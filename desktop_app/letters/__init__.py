"""Clearance letters: content, rendering (reportlab), signing and verification (pyHanko).

Pure functions over plain data; no Qt, no database. The service layer calls them:
`content.LetterContent` -> `render.render_letter` -> `signing.sign_letter`, and
`verify.verify_signed_pdf` for any PDF handed in. Each module is imported on its own,
so opening the application loads neither reportlab nor pyHanko.
"""

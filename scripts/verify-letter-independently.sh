#!/usr/bin/env bash
# verify-letter-independently.sh PDF TRUST_ROOT_PEM [CRL ...]
#
# A second opinion on a signed letter that shares no code with Clearance Desk: poppler's
# `pdfsig` (NSS) and pyHanko's validator each check the signatures, offline, trusting only
# TRUST_ROOT_PEM. The letter passes when at least one signature is, in BOTH verifiers,
# intact, trusted and covering the whole file (nothing appended after the signed revision).
#
# Environment: PY is a Python with pyHanko (default: python3).
# Needs pdfsig (poppler-utils) and certutil/crlutil (libnss3-tools).
# Exit: 0 pass, 1 fail, 2 usage or missing tool. The last line of stdout is PASS … or FAIL ….
set -u
PY=${PY:-python3}

fail() { echo "FAIL $2"; exit "$1"; }

[ $# -ge 2 ] || { echo "usage: $0 PDF TRUST_ROOT_PEM [CRL ...]" >&2; fail 2 "usage"; }
PDF=$1 ROOT=$2
shift 2
for file in "$PDF" "$ROOT" "$@"; do
  [ -f "$file" ] && [ -r "$file" ] || fail 2 "cannot read $file"
done
for tool in pdfsig certutil crlutil; do
  command -v "$tool" >/dev/null || fail 2 "$tool is missing (apt-get install poppler-utils libnss3-tools)"
done
"$PY" -c "import pyhanko.sign.validation" 2>/dev/null || fail 2 "$PY cannot import pyhanko"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 1. poppler: a private NSS database that trusts the given root and nothing else.
certutil -N -d "sql:$WORK" --empty-password >/dev/null 2>&1 || fail 2 "certutil could not create an NSS database"
certutil -A -d "sql:$WORK" -n root -t "C,C,C" -a -i "$ROOT" >/dev/null 2>&1 \
  || certutil -A -d "sql:$WORK" -n root -t "C,C,C" -i "$ROOT" >/dev/null 2>&1 \
  || fail 2 "NSS refused the trust root $ROOT"
for crl in "$@"; do
  crlutil -I -B -d "sql:$WORK" -i "$crl" >/dev/null 2>&1 || crlutil -I -B -a -d "sql:$WORK" -i "$crl" >/dev/null 2>&1 || true
done
pdfsig -nssdir "sql:$WORK" -no-ocsp "$PDF" >"$WORK/pdfsig.out" 2>&1
status=$?
# poppler reports a signer certificate without a CRL distribution point as "Unknown issue"
# under -no-ocsp; its default soft-fail policy (nothing to fetch offline) judges it properly.
if [ $status -eq 0 ] && grep -q "Unknown issue with Certificate" "$WORK/pdfsig.out"; then
  pdfsig -nssdir "sql:$WORK" "$PDF" >"$WORK/pdfsig.out" 2>&1
  status=$?
fi
cat "$WORK/pdfsig.out" >&2
[ $status -eq 2 ] && fail 1 "pdfsig found no signature in $PDF"
[ $status -eq 0 ] || fail 1 "pdfsig could not read $PDF (exit $status)"

# 2. pyHanko, then both verdicts side by side, signature by signature.
"$PY" - "$PDF" "$ROOT" "$WORK/pdfsig.out" "$@" <<'PY'
import logging
import re
import sys
import warnings

logging.disable(logging.CRITICAL)
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"pyhanko\.")  # cryptography 51 vs pyHanko
pdf_path, root_path, pdfsig_path, *crl_paths = sys.argv[1:]

from asn1crypto import crl as asn1_crl, pem
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext


def poppler_verdicts(text):
    verdicts = {}
    for block in re.split(r"^Signature #\d+:\s*$", text, flags=re.M)[1:]:
        field = re.search(r"Signature Field Name:\s*(.+)", block)
        verdicts[field.group(1).strip() if field else len(verdicts)] = (
            "Signature is Valid." in block
            and "Certificate is Trusted." in block
            and "Total document signed" in block
            and "Not total document signed" not in block
        )
    return verdicts


def read_crl(path):
    data = open(path, "rb").read()
    return asn1_crl.CertificateList.load(pem.unarmor(data)[2] if pem.detect(data) else data)


poppler = poppler_verdicts(open(pdfsig_path, encoding="utf-8", errors="replace").read())
settings = dict(trust_roots=[load_cert_from_pemder(root_path)], allow_fetching=False, revocation_mode="soft-fail")
if crl_paths:
    settings["crls"] = [read_crl(path) for path in crl_paths]
passed, seen = [], []
try:
    with open(pdf_path, "rb") as handle:
        reader = PdfFileReader(handle, strict=False)
        if "/DSS" in reader.root:
            context = DocumentSecurityStore.read_dss(reader).as_validation_context(settings)
        else:
            context = ValidationContext(**settings)
        for index, signature in enumerate(reader.embedded_signatures):
            try:
                status = validate_pdf_signature(signature, context)
                good = bool(status.bottom_line and status.intact and status.valid and status.trusted
                            and not status.revoked and status.coverage == SignatureCoverageLevel.ENTIRE_FILE)
                summary = status.summary()
            except Exception as error:  # a malformed CMS blob is a failed signature, not a crash
                good, summary = False, f"error {type(error).__name__}"
            name = signature.field_name
            in_poppler = poppler.get(name, poppler.get(index, False))
            seen.append(f"{name}: pyHanko {summary}, pdfsig {'ok' if in_poppler else 'not ok'}")
            if good and in_poppler:
                passed.append(name)
except Exception as error:
    print(f"FAIL pyHanko could not read {pdf_path}: {type(error).__name__}: {error}")
    sys.exit(1)
print("\n".join(seen), file=sys.stderr)
if passed:
    print(f"PASS {', '.join(passed)} valid, trusted and whole-document in pdfsig and pyHanko [{pdf_path}]")
    sys.exit(0)
print(f"FAIL no signature valid, trusted and whole-document in both verifiers [{pdf_path}]")
sys.exit(1)
PY

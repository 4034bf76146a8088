"""The dashboard and the reports and exports."""

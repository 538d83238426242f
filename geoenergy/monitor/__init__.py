"""Live monitoring of data centres: tokens of the ingest API, PUE by the hour, alerts.

==================  ==========================================================
:mod:`.tokens`      bearer tokens of ``POST /api/v1/readings`` (hash only)
:mod:`.limits`      the PUE limit by status and year, the differential price
:mod:`.pue`         the monitored data centres, PUE per hour/day/month,
                    rolling 30 days and the calendar-year assessment
:mod:`.rules`       the alert rules, each with its documented setting
:mod:`.alerts`      alerts opened, updated and closed by the rules; acknowledged
:mod:`.stream`      the ingest of a live batch through the file ingestion
==================  ==========================================================

The web layer (:mod:`geoenergy.web.api`) only parses, calls these and presents.
"""

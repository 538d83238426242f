"""The waste-heat analysis, as notebooks and the CLI import it: one name, three rooms.

The analysis of every data centre (waste heat, PUE, connection, economics,
rank) is split by what each part touches:

===========================  ==========================================================
:mod:`.compute`              :func:`analyse` on plain frames (GeoDataFrames and a
                             ``{meter_id: kWh Series}`` mapping), :class:`HeatResult`,
                             :data:`OUTPUT_COLUMNS`: no workspace, no files
:mod:`.sweep`                :func:`sensitivity`, the computation re-run over ranges of
                             the main assumptions; :data:`SENSITIVITY_PARAMETERS`
:mod:`.entry`                the entry points that load the inputs from a workspace
                             (its open store and readings store) or from layer files
                             and call the computation: :func:`analyse_workspace`,
                             :func:`analyse_files`, :func:`load_workspace_inputs`,
                             :func:`load_file_inputs`, :func:`workspace_config`,
                             :func:`readings_from_dataset`
===========================  ==========================================================

This module only gathers their public names, so
``from geoenergy.heat.analysis import load_workspace_inputs, OUTPUT_COLUMNS``
keeps working; new code may import from the rooms themselves.
"""

from __future__ import annotations

from geoenergy.heat.compute import OUTPUT_COLUMNS, HeatResult, analyse
from geoenergy.heat.entry import (
    analyse_files,
    analyse_workspace,
    load_file_inputs,
    load_workspace_inputs,
    readings_from_dataset,
    workspace_config,
)
from geoenergy.heat.sweep import SENSITIVITY_PARAMETERS, sensitivity

__all__ = [
    "OUTPUT_COLUMNS",
    "SENSITIVITY_PARAMETERS",
    "HeatResult",
    "analyse",
    "analyse_files",
    "analyse_workspace",
    "load_file_inputs",
    "load_workspace_inputs",
    "readings_from_dataset",
    "sensitivity",
    "workspace_config",
]

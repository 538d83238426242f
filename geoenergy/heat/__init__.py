"""Data-centre waste heat and PUE.

Plain functions per physical topic, units in brackets, a reference for every
coefficient (pvlib style), and one orchestration over GeoDataFrames:

===================  ==============================================================
:mod:`.pue`          PUE from metered energy or as declared; compliance with limits
:mod:`.recovery`     heat source temperature and capture share by cooling type
:mod:`.heatpump`     Carnot-fraction COP, heat delivered, heat-pump electricity
:mod:`.season`       heating season and base demand; usable heat
:mod:`.equivalents`  floor area, households, standard coal and CO2 avoided
:mod:`.economics`    pipe size, pipe and heat-pump cost, heat loss, LCOH
:mod:`.ranking`      the documented score and the ranking
:mod:`.config`       every assumption in one dataclass, loadable from TOML
:mod:`.compute`      one row per data centre plus connection lines, on plain frames
:mod:`.sweep`        sensitivity: the computation over ranges of the assumptions
:mod:`.entry`        the inputs from a workspace (its open store) or layer files
:mod:`.analysis`     the public names of compute, sweep and entry in one place
:mod:`.output`       the result written to GeoPackage or CSV (and the NetCDF grid)
===================  ==============================================================

The spatial part (nearest network segment, routes, demand around a site,
heat-density grid) lives in :mod:`layers.network`.
"""

from geoenergy.heat.analysis import (
    HeatResult,
    analyse,
    analyse_files,
    analyse_workspace,
    sensitivity,
)
from geoenergy.heat.config import HeatConfig
from geoenergy.heat.output import write_result

__all__ = [
    "HeatConfig",
    "HeatResult",
    "analyse",
    "analyse_files",
    "analyse_workspace",
    "sensitivity",
    "write_result",
]

"""A synthetic sample city: meters, loads, weather, labels and spatial layers.

:func:`generate_city` writes a complete, self-consistent and clearly
labelled **synthetic** data set in the project's input formats (see
"Data contracts" in the design notes): a meter registry with fictional
Chinese addresses, hourly readings with realistic gaps, a small CSV of
deliberately bad rows, inspection labels, daily weather, the ground truth
used for evaluation only, and GeoPackage layers of a fictional town north-west
of Beijing (districts, buildings, heating network, heat-demand grid and data
centres). :func:`generate_population` simulates the same population in
memory, without geography or files, for detector work.

The loads are built from archetypes with realistic daily, weekly and
seasonal shapes. Besides ordinary customers the city contains the
*confounders* a mining detector must not flag (coal-to-electricity homes,
24-hour shops, telecom base stations, street lighting, continuous-process
industry, aquaculture, registered data centres, large households and vacant
homes) and about 1.5 % *mining* meters in eight disguises.

Everything is vectorised over meters and hours; the only Python loops run
over archetypes, days or a few dozen geometric features. The result is
deterministic for a seed.

The rooms, each importing only those above it:

- ``geometry``: study area, districts, street grid, buildings, meter sites
  and addresses;
- ``clock``: hours and days, holidays, weather, sunrise and sunset;
- ``loads``: load profiles of every customer class, confounder and rig;
- ``population``: archetypes, meters, simulated loads, gaps, labels, and
  :func:`generate_population`;
- ``heat``: district-heating network, heat-demand grid, data centres;
- ``write``: :func:`generate_city`, writing every file of the city;
- ``workspace``: :func:`sample_workspace`, the city generated and ingested
  into a workspace once, then reused (the notebooks start from it).
"""

from geoenergy.samplecity.population import ARCHETYPES, Population, generate_population
from geoenergy.samplecity.workspace import SampleWorkspace, sample_workspace
from geoenergy.samplecity.write import SampleCity, generate_city

__all__ = [
    "ARCHETYPES",
    "Population",
    "SampleCity",
    "SampleWorkspace",
    "generate_city",
    "generate_population",
    "sample_workspace",
]

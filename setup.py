from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def requirements():
    lines = (HERE / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


setup(
    name="tucluster",
    version="0.1.0",
    description="Job platform for flood models and clustering runs: Falcon API, Celery workers, MongoDB.",
    long_description=(HERE / "README.rst").read_text(),
    long_description_content_type="text/x-rst",
    # tucluster.web holds the pages' static files, not Python: named here so they ship as its data.
    packages=find_packages(include=["tucluster", "tucluster.*", "qflow", "qflow.*"]) + ["tucluster.web"],
    package_data={"tucluster": ["defaults.toml"], "tucluster.web": ["*", "**/*"]},
    include_package_data=True,
    python_requires=">=3.10",
    install_requires=requirements(),
    extras_require={
        "anuga": ["anuga==4.1.0"],
        "test": [
            "pytest==9.2.0",
            "pytest-timeout==2.4.0",
            "selenium==4.51.0",
            "aiosmtpd==1.4.6",
            "httpie==3.2.4",
            "openapi-spec-validator==0.9.0",
            "anuga==4.1.0",  # the ANUGA engine tests run a real model
        ],
    },
    entry_points={"console_scripts": ["tucluster=tucluster.cli:main"]},
    license="GPL-3.0-or-later",
)

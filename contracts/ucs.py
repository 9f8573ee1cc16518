"""Contracts: the Unified Communication Space (UCS), the city's talent platform. A daily change
feed of talents, companies, job postings and universities' courses: each day carries only the
records created or updated that day, read from the platform's paginated API or file drops.

Talents and jobs name their skills from one vocabulary (`SKILLS`), so supply and demand meet."""

from __future__ import annotations

import re

from contracts.districts import normalise_district
from contracts.model import Column, Contract

SKILLS: tuple[str, ...] = (
    # data and software
    "Python",
    "SQL",
    "Apache Spark",
    "Apache Airflow",
    "Apache Kafka",
    "Data Modelling",
    "ETL",
    "dbt",
    "Scala",
    "Hadoop",
    "PostgreSQL",
    "ClickHouse",
    "Machine Learning",
    "Statistics",
    "pandas",
    "scikit-learn",
    "Deep Learning",
    "PyTorch",
    "NLP",
    "Computer Vision",
    "A/B Testing",
    "Data Visualisation",
    "Tableau",
    "Power BI",
    "Java",
    "Spring Boot",
    "Go",
    "Kotlin",
    "REST APIs",
    "Microservices",
    "Redis",
    "gRPC",
    "Git",
    "JavaScript",
    "TypeScript",
    "React",
    "Vue.js",
    "Angular",
    "HTML",
    "CSS",
    "Next.js",
    "Redux",
    "Webpack",
    "Linux",
    "Docker",
    "Kubernetes",
    "Terraform",
    "Ansible",
    "CI/CD",
    "Prometheus",
    "Grafana",
    "AWS",
    "Bash",
    "Nginx",
    "Manual Testing",
    "Test Automation",
    "Selenium",
    "API Testing",
    "Load Testing",
    "Test Design",
    "Postman",
    "Jira",
    # product and design
    "Product Management",
    "Agile",
    "Scrum",
    "Stakeholder Management",
    "Roadmapping",
    "Customer Research",
    "Figma",
    "UX Research",
    "UI Design",
    "Prototyping",
    "Usability Testing",
    "Design Systems",
    "Wireframing",
    "Adobe Photoshop",
    "Adobe Illustrator",
    # finance
    "Accounting",
    "Bookkeeping",
    "1C:Enterprise",
    "Tax Reporting",
    "IFRS",
    "Payroll",
    "Auditing",
    "Financial Reporting",
    "Financial Modelling",
    "Budgeting",
    "Forecasting",
    "Valuation",
    "Risk Management",
    # health
    "Patient Care",
    "Vital Signs Monitoring",
    "Medication Administration",
    "Wound Care",
    "Infection Control",
    "First Aid",
    "Medical Records",
    "Intensive Care",
    "Paediatrics",
    "Phlebotomy",
    "Diagnosis",
    "Internal Medicine",
    "Clinical Examination",
    "Prescribing",
    "Preventive Medicine",
    "Cardiology",
    "Ultrasound Diagnostics",
    "Telemedicine",
    "Pharmacology",
    "Dispensing",
    "Pharmaceutical Counselling",
    "Drug Interactions",
    "GMP",
    # education
    "Lesson Planning",
    "Classroom Management",
    "Curriculum Development",
    "Student Assessment",
    "Mathematics Teaching",
    "Educational Technology",
    "Special Education",
    "Tutoring",
    # construction and trades
    "AutoCAD",
    "Revit",
    "BIM",
    "Structural Analysis",
    "Construction Management",
    "Building Codes",
    "Cost Estimation",
    "Site Supervision",
    "Geodesy",
    "Electrical Installation",
    "Electrical Safety",
    "Wiring",
    "Reading Schematics",
    "Low-Voltage Systems",
    "PLC Programming",
    "Equipment Maintenance",
    "Welding",
    "Solar Panels",
    # sales, marketing, people
    "Sales",
    "Negotiation",
    "CRM Systems",
    "Cold Calling",
    "B2B Sales",
    "Account Management",
    "Market Analysis",
    "Digital Marketing",
    "SMM",
    "SEO",
    "Content Marketing",
    "Google Analytics",
    "Copywriting",
    "Targeted Advertising",
    "Email Marketing",
    "Brand Management",
    "Recruitment",
    "Interviewing",
    "Onboarding",
    "HR Administration",
    "Labour Law",
    "Employee Training",
    "HR Analytics",
    "Compensation and Benefits",
    # logistics, law, kitchen
    "Logistics",
    "Supply Chain Management",
    "Warehouse Management",
    "Inventory Management",
    "Freight Forwarding",
    "Customs Clearance",
    "SAP",
    "Route Planning",
    "Contract Law",
    "Corporate Law",
    "Legal Research",
    "Litigation",
    "Legal Drafting",
    "Compliance",
    "Intellectual Property",
    "Cooking",
    "Menu Planning",
    "Food Safety (HACCP)",
    "Kitchen Management",
    "Baking",
    "Pastry",
    "Kazakh Cuisine",
    "Food Cost Control",
    # everyone
    "Microsoft Excel",
    "Microsoft Office",
    "Communication",
    "Teamwork",
    "Time Management",
    "Problem Solving",
    "Leadership",
    "Customer Service",
    "Presentation Skills",
    "English Language",
    "Kazakh Language",
    "Russian Language",
    "Driving Licence B",
)

LIST_SEPARATOR = ";"
SKILL_KEYS: dict[str, str] = {s.casefold(): s for s in SKILLS}

EDUCATION_LEVELS = ("secondary", "vocational", "bachelor", "master", "phd")
INDUSTRIES = (
    "it",
    "finance",
    "healthcare",
    "education",
    "retail",
    "construction",
    "manufacturing",
    "logistics",
    "hospitality",
    "telecom",
    "energy",
    "public_sector",
    "legal_services",
    "marketing",
)
EMPLOYMENT_TYPES = ("full_time", "part_time", "contract", "internship")
JOB_STATUSES = ("open", "closed")
COURSE_FORMATS = ("offline", "online", "hybrid")
UNIVERSITIES = (
    "Al-Farabi Kazakh National University",
    "Satbayev University",
    "Kazakh-British Technical University",
    "International Information Technology University",
    "Suleyman Demirel University",
    "KIMEP University",
    "Narxoz University",
    "Almaty Management University",
    "Asfendiyarov Kazakh National Medical University",
    "Abai Kazakh National Pedagogical University",
    "Almaty University of Power Engineering and Telecommunications",
    "Kazakh National Agrarian Research University",
)
COURSE_ID = re.compile(r"CRS-\d{5}")


def normalise_skill(raw: str) -> str | None:
    """The vocabulary's spelling of a skill, whatever its case and spacing; None if unknown."""
    return SKILL_KEYS.get(" ".join(raw.split()).casefold())


def parse_skills(raw: str | None) -> tuple[str, ...] | None:
    """A semicolon-separated skill list in the vocabulary's spelling; None if any is unknown."""
    if raw is None:
        return None
    skills = tuple(normalise_skill(s) for s in raw.split(LIST_SEPARATOR))
    if not skills or any(s is None for s in skills):
        return None
    return tuple(s for s in skills if s is not None)


def parse_course_ids(raw: str | None) -> tuple[str, ...] | None:
    """A semicolon-separated list of course ids (`CRS-00042`); None if any is malformed."""
    if raw is None:
        return None
    ids = tuple(s.strip() for s in raw.split(LIST_SEPARATOR))
    return ids if all(COURSE_ID.fullmatch(i) for i in ids) else None


def _changed_at(what: str) -> Column:
    return Column(
        "updated_at",
        "timestamp",
        f"When the {what} was created or last changed on the platform, ISO 8601 with offset; "
        "the day's change feed holds the records changed that day.",
        not_in_future=True,
    )


def _created_at(what: str) -> Column:
    return Column(
        "created_at",
        "timestamp",
        f"When the {what} was registered on the platform, ISO 8601 with offset.",
        not_in_future=True,
    )


def _district(what: str) -> Column:
    return Column(
        "district",
        "string",
        f"District of the {what}, in any spelling the city uses.",
        known=("known_district", normalise_district),
    )


def _skills(name: str, what: str) -> Column:
    return Column(
        name,
        "string",
        f"{what}, semicolon-separated, each from the platform's skill vocabulary "
        "(`contracts.ucs.SKILLS`, case-insensitive).",
        known=("known_skills", parse_skills),
    )


UCS_TALENTS = Contract(
    source="ucs_platform",
    table="ucs_talents",
    description=(
        "People registered on the platform as talents, one row per talent and change. Name and "
        "e-mail are pseudonymised at the boundary; the free-text profile is written by the "
        "talent and must hold no name, e-mail or phone number (the privacy scan checks silver)."
    ),
    columns=(
        Column("talent_id", "string", "Platform's talent identifier (`TAL-0000042`)."),
        Column("full_name", "string", "Full name as registered.", pseudonymise=True),
        Column("email", "string", "Contact e-mail address.", pseudonymise=True),
        _district("talent's home address"),
        Column("birth_year", "int", "Year of birth.", min_value=1940, max_value=2010),
        Column(
            "education_level",
            "string",
            "Highest completed education.",
            allowed=EDUCATION_LEVELS,
        ),
        Column(
            "university",
            "string",
            "University of the highest degree (none for school or college).",
            nullable=True,
            allowed=UNIVERSITIES,
        ),
        _skills("skills", "Skills the talent declares"),
        Column(
            "courses_taken",
            "string",
            "Courses completed through the platform, semicolon-separated course ids.",
            nullable=True,
            known=("course_id_list", parse_course_ids),
        ),
        Column(
            "years_experience",
            "int",
            "Years of professional experience.",
            unit="years",
            min_value=0,
            max_value=60,
        ),
        Column("profile_text", "string", "Free-text profile (English), written by the talent."),
        _created_at("talent"),
        _changed_at("talent"),
    ),
    keys=("talent_id", "updated_at"),
    timestamp_column="updated_at",
    partition_column="updated_date",
    formats=("jsonl", "csv", "parquet"),
)

UCS_COMPANIES = Contract(
    source="ucs_platform",
    table="ucs_companies",
    description="Employers registered on the platform, one row per company and change.",
    columns=(
        Column("company_id", "string", "Platform's company identifier (`CMP-00042`)."),
        Column("name", "string", "Trading name of the company (a business, not a person)."),
        Column("industry", "string", "Industry the company declares.", allowed=INDUSTRIES),
        _district("company's office"),
        Column(
            "employees",
            "int",
            "Employees the company declares.",
            unit="people",
            min_value=0,
            max_value=200_000,
        ),
        _created_at("company"),
        _changed_at("company"),
    ),
    keys=("company_id", "updated_at"),
    timestamp_column="updated_at",
    partition_column="updated_date",
)

UCS_JOBS = Contract(
    source="ucs_platform",
    table="ucs_jobs",
    description=(
        "Job postings of the companies, one row per posting and change: posted (open), edited, "
        "and closed when filled or withdrawn."
    ),
    columns=(
        Column("job_id", "string", "Platform's posting identifier (`JOB-20200302-0007`)."),
        Column("company_id", "string", "Company that posted the job (`CMP-00042`)."),
        Column("title", "string", "Job title as posted."),
        Column("description", "string", "Free-text description of the job (English)."),
        _skills("required_skills", "Skills the job requires"),
        _district("workplace"),
        Column(
            "salary_min_kzt",
            "int",
            "Lower end of the offered monthly gross salary; empty when negotiable.",
            unit="tenge (KZT) per month",
            nullable=True,
            min_value=0,
            max_value=50_000_000,
        ),
        Column(
            "salary_max_kzt",
            "int",
            "Upper end of the offered monthly gross salary; empty when negotiable.",
            unit="tenge (KZT) per month",
            nullable=True,
            min_value=0,
            max_value=50_000_000,
        ),
        Column("employment_type", "string", "Kind of contract.", allowed=EMPLOYMENT_TYPES),
        Column("status", "string", "Whether the posting is open.", allowed=JOB_STATUSES),
        Column(
            "posted_at",
            "timestamp",
            "When the job was first posted, ISO 8601 with offset.",
            not_in_future=True,
        ),
        _changed_at("posting"),
    ),
    keys=("job_id", "updated_at"),
    timestamp_column="updated_at",
    partition_column="updated_date",
    formats=("jsonl", "csv", "parquet"),
)

UCS_COURSES = Contract(
    source="ucs_platform",
    table="ucs_courses",
    description=(
        "Courses the city's universities offer through the platform, one row per course and change."
    ),
    columns=(
        Column("course_id", "string", "Platform's course identifier (`CRS-00042`)."),
        Column("university", "string", "University teaching the course.", allowed=UNIVERSITIES),
        Column("title", "string", "Course title."),
        Column("description", "string", "Free-text description of the course (English)."),
        _skills("skills_taught", "Skills the course teaches"),
        Column(
            "hours",
            "int",
            "Contact hours of the course.",
            unit="hours",
            min_value=1,
            max_value=2000,
        ),
        Column("format", "string", "How the course is taught.", allowed=COURSE_FORMATS),
        _created_at("course"),
        _changed_at("course"),
    ),
    keys=("course_id", "updated_at"),
    timestamp_column="updated_at",
    partition_column="updated_date",
    formats=("parquet", "csv", "jsonl"),
)

UCS_CONTRACTS = (UCS_TALENTS, UCS_COMPANIES, UCS_JOBS, UCS_COURSES)

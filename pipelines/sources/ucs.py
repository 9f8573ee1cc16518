"""UCS, the city's talent platform: a simulator of its daily change feed (talents, companies,
job postings, courses), the file drops it lands, and the four sources carrying it to silver
(`ucs_silver`: Spark MERGE into one current row per record) from files or the platform's API
(`ucs_api`).

The simulated platform is a pure function of the seed: every talent, company and course is
drawn from its own random stream (in blocks of `BLOCK`, so the same id is the same person at
any scale), every job from the stream of its posting day. Each is drawn from a profession
(`ucs_professions.PROFESSIONS`); the profession is never landed, and `true_profession` gives it
back to tests that check talents are matched with jobs of their own profession.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from contracts.districts import DISTRICTS
from contracts.model import Contract
from contracts.ucs import (
    COURSE_FORMATS,
    EDUCATION_LEVELS,
    EMPLOYMENT_TYPES,
    INDUSTRIES,
    LIST_SEPARATOR,
    UCS_COMPANIES,
    UCS_COURSES,
    UCS_JOBS,
    UCS_TALENTS,
)
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.simulation.city import EPOCH, HORIZON
from pipelines.sources import LandingFetcher, Source, land_file
from pipelines.sources.ucs_professions import GENERIC_SKILLS, PROFESSIONS, Profession
from pipelines.sources.ucs_silver import (
    JOB_SKILLS,
    TALENT_SKILLS,
    build_companies_silver,
    build_companies_silver_duckdb,
    build_courses_silver,
    build_courses_silver_duckdb,
    build_jobs_silver,
    build_jobs_silver_duckdb,
    build_talents_silver,
    build_talents_silver_duckdb,
)

ALMATY = ZoneInfo("Asia/Almaty")
BLOCK = 1024  # entities drawn per random stream: ids keep their draws at any scale

# Volumes of the real platform (scale 1.0).
FULL_SCALE = {"talent": 60_000, "company": 4_000, "course": 1_500}
OPEN_JOBS = 8_000
JOB_LIFETIME_DAYS = (14, 76)  # a posting stays open this many days (uniform), ~45 on average
POSTING_WEEKDAY = (1.2, 1.15, 1.1, 1.1, 1.0, 0.3, 0.15)
# New postings on an average day, so that about OPEN_JOBS are open at any time.
POSTINGS_PER_DAY = OPEN_JOBS / (sum(JOB_LIFETIME_DAYS) / 2 * sum(POSTING_WEEKDAY) / 7)
JOB_EDIT_SHARE = 0.3  # postings edited once while open (salary, skills)
NEGOTIABLE_SHARE = 0.2  # postings without a salary range

# Records registered before the feed starts (EPOCH) come from the platform's earlier years.
PLATFORM_LAUNCH = date(2016, 1, 1)
LEGACY_SHARE = {"talent": 0.6, "company": 0.7, "course": 0.7}
# Mean daily probability that a record is changed (a talent edits the profile every ~45 days).
UPDATE_RATE = {"talent": 1 / 45, "company": 1 / 180, "course": 1 / 120}
CAREER_CHANGER_SHARE = 0.1  # talents retraining towards a second profession

_KIND = {"talent": 1, "company": 2, "course": 3, "job": 4}
_UPDATES, _RECORD = 100, 200  # sub-streams: who changes on a day; what a change looks like

MALE_NAMES = (
    "Nurlan", "Yerlan", "Daniyar", "Askar", "Arman", "Bauyrzhan", "Dauren", "Yerzhan", "Marat",
    "Timur", "Alibek", "Nurbolat", "Sanzhar", "Azamat", "Olzhas", "Ruslan", "Dmitry", "Sergey",
    "Alexey", "Ivan", "Andrey", "Maxim", "Vladimir", "Farid", "Rustam",
)  # fmt: skip
FEMALE_NAMES = (
    "Aigerim", "Aruzhan", "Dana", "Madina", "Asel", "Dinara", "Saule", "Zhanna", "Gulnara",
    "Kamila", "Aliya", "Ainur", "Togzhan", "Assem", "Symbat", "Olga", "Elena", "Natalia", "Irina",
    "Anna", "Yulia", "Svetlana", "Leila", "Dilnaz", "Meruyert",
)  # fmt: skip
SURNAMES = (
    "Nurlanov", "Abenov", "Kassymov", "Zhakupov", "Omarov", "Akhmetov", "Sultanov", "Serikbayev",
    "Utepov", "Baimukhanov", "Dzhaksybekov", "Ismailov", "Tulegenov", "Mukanov", "Yessenov",
    "Bekmukhambetov", "Ivanov", "Petrov", "Smirnov", "Kuznetsov", "Popov", "Kim", "Tsoi", "Li",
    "Pak", "Seitkali", "Zhumabek", "Ospan", "Karimov", "Aliyev",
)  # fmt: skip
MAIL_DOMAINS = ("gmail.com", "mail.ru", "inbox.kz", "yandex.kz", "outlook.com")
COMPANY_WORDS = (
    "Alatau", "Almaty", "Zhetysu", "Tengri", "Steppe", "Medeu", "Altyn", "Baiterek", "Nomad",
    "Silk Road", "Eurasia", "Samal", "Aksai", "Shymbulak", "Tau", "Orda", "Ili", "Kazyna", "Sapa",
    "Arna",
)  # fmt: skip
INDUSTRY_WORDS = {
    "it": ("Digital", "Soft", "Data", "Tech", "Systems"),
    "finance": ("Finance", "Capital", "Invest", "Bank", "Credit"),
    "healthcare": ("Clinic", "Medical Centre", "Health", "Polyclinic", "Pharm"),
    "education": ("School", "Academy", "Lyceum", "Learning Centre"),
    "retail": ("Trade", "Market", "Retail", "Store"),
    "construction": ("Stroy", "Construction", "Build", "Development"),
    "manufacturing": ("Industrial", "Plant", "Manufacturing", "Factory"),
    "logistics": ("Logistics", "Cargo", "Transit", "Express"),
    "hospitality": ("Hotel", "Restaurant Group", "Catering", "Cafe"),
    "telecom": ("Telecom", "Mobile", "Net", "Connect"),
    "energy": ("Energy", "Power", "Solar", "Grid"),
    "public_sector": ("City Service", "Public Agency", "Municipal Centre"),
    "legal_services": ("Legal", "Law Firm", "Partners"),
    "marketing": ("Media", "Agency", "Creative", "Brand"),
}
INDUSTRY_PHRASES = {
    "it": "IT",
    "finance": "financial services",
    "healthcare": "healthcare",
    "education": "education",
    "retail": "retail",
    "construction": "construction",
    "manufacturing": "manufacturing",
    "logistics": "logistics",
    "hospitality": "hospitality",
    "telecom": "telecom",
    "energy": "energy",
    "public_sector": "public sector",
    "legal_services": "legal",
    "marketing": "marketing",
}
INDUSTRY_SHARES = np.array([18, 12, 9, 6, 14, 8, 7, 6, 6, 3, 3, 3, 2, 3], dtype=float)
LEGAL_FORMS = ("LLP", "JSC", "Group", "LLP", "")

# Text templates (English). Talents write about themselves; postings and courses about the work.
OPENINGS = (
    "{title} with {experience} in {field}.",
    "I am {a_title} based in Almaty with {experience}.",
    "{title} from Almaty, {experience} in {industry}.",
    "Experienced {title} with {experience}.",
    "{title}. {Experience} in {field}, mostly in {industry}.",
    "I have worked as {a_title} for {years}.",
)
ACTIVITY_SENTENCES = (
    "Day to day I {activity}.",
    "In my current role I {activity}.",
    "I like to {activity}.",
    "Most of my work is to {activity} and {activity2}.",
    "I {activity} and {activity2}.",
)
SKILL_SENTENCES = (
    "Strong skills in {skills}.",
    "My toolkit includes {skills}.",
    "Comfortable working with {skills}.",
    "Hands-on experience with {skills}.",
    "Key skills: {skills}.",
)
GOALS = (
    "Looking for a {employment} position in {industry}.",
    "Open to new opportunities in Almaty.",
    "Interested in a team where I can {activity2}.",
    "Keen to grow into a senior role in {field}.",
    "Happy to mentor junior colleagues.",
    "Available for project work as well.",
)
JOB_INTROS = (
    "{company} is looking for {a_title} to {activity}.",
    "We are hiring {a_title}. You will {activity}.",
    "Join {company_lower} as {a_title} and {activity}.",
    "{company} needs an experienced {title} in {field}. You will {activity}.",
)
COMPANY_PHRASES = (
    "A growing {industry} company in Almaty",
    "An established {industry} business",
    "Our {industry} team",
    "A leading Almaty {industry} company",
)
REQUIREMENTS = (
    "Requirements: {skills}.",
    "You should know {skills}.",
    "We expect solid experience with {skills}.",
    "Must have: {skills}.",
)
NICE_TO_HAVE = ("Nice to have: {skills}.", "A plus: {skills}.", "Bonus points for {skills}.")
OFFERS = ("We offer {benefits}.", "What we offer: {benefits}.", "You get {benefits}.")
BENEFITS = (
    "a competitive salary",
    "medical insurance",
    "flexible hours",
    "paid training",
    "a friendly team",
    "hybrid work",
    "an annual bonus",
    "career growth",
    "an office near the metro",
    "free lunches",
)
COURSE_TITLES = (
    "Introduction to {skill}",
    "{skill} Fundamentals",
    "Applied {skill}",
    "Advanced {skill}",
    "{skill} in Practice",
    "{skill} for {Plural}",
)
COURSE_TEXTS = (
    "This {hours}-hour {format} course at {university} teaches {audience} to {activity}. "
    "Topics: {skills}.",
    "A practical {format} course for {audience}: {hours} hours covering {skills}. "
    "Participants learn to {activity}.",
    "{university} offers this {format} course on {skills}. Over {hours} hours students "
    "practise how to {activity}.",
)
AUDIENCES = (
    "future {plural}",
    "practising {plural}",
    "beginners who want to become {plural}",
    "{plural} who want to update their skills",
)
FORMAT_WORDS = {"offline": "in-person", "online": "online", "hybrid": "blended"}
LEVEL_WORDS = {"bachelor": "a bachelor's degree", "master": "a master's degree", "phd": "a PhD"}


# -- the platform's population -------------------------------------------------------------
@dataclass(frozen=True)
class Talent:
    """A talent's lasting traits; what changes over time is derived from them per day."""

    index: int
    profession: int
    second_profession: int  # -1 unless retraining towards another profession
    full_name: str
    email: str
    district: int
    spelling: int  # which of the district's spellings the talent typed
    birth_year: int
    education: str
    university: str | None
    created_at: datetime
    experience_at_creation: int
    update_rate: float
    skills: tuple[str, ...]  # declared at registration
    later_skills: tuple[tuple[date, str], ...]  # learned on the job, from that day
    course_plan: tuple[tuple[date, float], ...]  # (day, draw) of courses taken later

    @property
    def talent_id(self) -> str:
        return f"TAL-{self.index:07d}"


@dataclass(frozen=True)
class Company:
    index: int
    industry: str
    name: str
    district: int
    employees: int
    yearly_growth: float
    created_at: datetime
    update_rate: float

    @property
    def company_id(self) -> str:
        return f"CMP-{self.index:05d}"


@dataclass(frozen=True)
class Course:
    index: int
    profession: int
    university: str
    title: str
    description: str
    skills: tuple[str, ...]
    hours: int
    format: str
    created_at: datetime
    update_rate: float

    @property
    def course_id(self) -> str:
        return f"CRS-{self.index:05d}"


@dataclass(frozen=True)
class Posting:
    """A job posting as posted; edits and the closing are later events of the same job."""

    job_id: str
    profession: int
    company_id: str
    title: str
    description: str
    skills: tuple[str, ...]
    district: int
    salary: tuple[int, int] | None
    employment_type: str
    posted_at: datetime
    lifetime_days: int
    edit_after_days: int | None


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


def _count(full_scale: int, scale: float) -> int:
    return max(1, round(full_scale * scale))


def _at(rng: np.random.Generator, day: date, hours: tuple[int, int] = (8, 23)) -> datetime:
    seconds = int(rng.integers(hours[0] * 3600, hours[1] * 3600))
    return datetime.combine(day, time(0), tzinfo=ALMATY) + timedelta(seconds=seconds)


def _one(rng: np.random.Generator, items: tuple[str, ...]) -> str:
    return items[int(rng.integers(len(items)))]


def _pick(rng: np.random.Generator, items: tuple[str, ...], k: int) -> tuple[str, ...]:
    """k distinct items, in their listed order."""
    return tuple(items[i] for i in sorted(rng.permutation(len(items))[:k]))


def _weighted(rng: np.random.Generator, cumulative: np.ndarray, size: int) -> np.ndarray:
    return np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right")


def _cumulative(values: list[float]) -> np.ndarray:
    return np.cumsum(np.array(values, dtype=float))


TALENT_SHARES = _cumulative([p.talent_share for p in PROFESSIONS])
JOB_SHARES = _cumulative([p.job_share for p in PROFESSIONS])
DISTRICT_SHARES = _cumulative([d.population for d in DISTRICTS])
SPELLING_SHARES = _cumulative([0.85, 0.1, 0.05])  # canonical, Russian + "район", Kazakh
SENIORITY_SHARES = _cumulative([0.25, 0.5, 0.25])  # junior, middle, senior postings
EMPLOYMENT_SHARES = _cumulative([0.78, 0.1, 0.08, 0.04])  # as EMPLOYMENT_TYPES
COURSES_PLANNED = _cumulative([0.35, 0.3, 0.2, 0.1, 0.05])  # courses a talent will take


def _created_moments(rng: np.random.Generator, kind: str, size: int) -> list[datetime]:
    """When each of `size` records was registered: before the feed starts, or during it."""
    legacy = rng.random(size) < LEGACY_SHARE[kind]
    legacy_day = rng.integers(0, (EPOCH - PLATFORM_LAUNCH).days, size)
    feed_day = rng.integers(0, (HORIZON - EPOCH).days + 1, size)
    seconds = rng.integers(8 * 3600, 23 * 3600, size)
    start = np.where(legacy, PLATFORM_LAUNCH.toordinal(), EPOCH.toordinal())
    days = start + np.where(legacy, legacy_day, feed_day)
    return [
        datetime.combine(date.fromordinal(int(d)), time(0), tzinfo=ALMATY)
        + timedelta(seconds=int(s))
        for d, s in zip(days, seconds, strict=True)
    ]


def _later_days(created: datetime, draws: np.ndarray) -> list[date]:
    """Days after registration (up to the horizon), from uniform draws."""
    span = (HORIZON - created.date()).days
    return sorted(created.date() + timedelta(days=int(u * span)) for u in draws)


@lru_cache(maxsize=512)
def _talent_block(seed: int, block: int) -> tuple[Talent, ...]:
    """`BLOCK` talents from one random stream; talent i is in block i // BLOCK at any scale."""
    rng = _rng(seed, _KIND["talent"], block)
    size = BLOCK
    professions = _weighted(rng, TALENT_SHARES, size)
    changer = rng.random(size) < CAREER_CHANGER_SHARE
    second = (professions + rng.integers(1, len(PROFESSIONS), size)) % len(PROFESSIONS)
    female = rng.random(size) < 0.5
    first_draw, last_draw = rng.random(size), rng.integers(len(SURNAMES), size=size)
    dotted, email_number = rng.random(size) < 0.5, rng.integers(1, 99, size)
    domain = rng.integers(len(MAIL_DOMAINS), size=size)
    created = _created_moments(rng, "talent", size)
    age = np.clip(rng.gamma(4.0, 3.0, size) + 20, 20, 63).astype(int)
    education_draw, university_draw = rng.random(size), rng.random(size)
    district = _weighted(rng, DISTRICT_SHARES, size)
    spelling = _weighted(rng, SPELLING_SHARES, size)
    experience_draw = rng.random(size)
    rates = UPDATE_RATE["talent"] * rng.lognormal(-0.18, 0.6, size)
    core_count, extra_count, generic_count = (rng.random(size), *rng.integers(0, 3, (2, size)))
    later_count = rng.integers(0, 3, size)
    later_days = rng.random((size, 2))
    planned = _weighted(rng, COURSES_PLANNED, size)
    plan_days, plan_draws = rng.random((size, 4)), rng.random((size, 4))
    talents = []
    for i in range(size):
        profession = PROFESSIONS[int(professions[i])]
        names = FEMALE_NAMES if female[i] else MALE_NAMES
        first, last = names[int(first_draw[i] * len(names))], SURNAMES[int(last_draw[i])]
        if female[i] and last.endswith(("ov", "ev")):
            last += "a"
        user = f"{first}.{last}" if dotted[i] else f"{first[0]}{last}{email_number[i]}"
        levels = np.cumsum(profession.education)
        education = EDUCATION_LEVELS[int(np.searchsorted(levels, education_draw[i] * levels[-1]))]
        universities = profession.university_names
        university = None
        if education in LEVEL_WORDS:
            university = universities[int(university_draw[i] * len(universities))]
        core = profession.core_skills
        skills = _pick(rng, core, 3 + int(core_count[i] * (len(core) - 2)))
        skills += _pick(rng, profession.extra_skills, int(extra_count[i]))
        skills += _pick(rng, GENERIC_SKILLS, int(generic_count[i]))
        if changer[i]:
            skills += _pick(rng, PROFESSIONS[int(second[i])].core_skills, 2)
        learnable = tuple(s for s in profession.skills if s not in skills)
        learned = _pick(rng, learnable, int(later_count[i]))
        talents.append(
            Talent(
                index=block * BLOCK + i,
                profession=int(professions[i]),
                second_profession=int(second[i]) if changer[i] else -1,
                full_name=f"{first} {last}",
                email=f"{user.lower()}@{MAIL_DOMAINS[int(domain[i])]}",
                district=int(district[i]),
                spelling=int(spelling[i]),
                birth_year=created[i].year - int(age[i]),
                education=education,
                university=university,
                created_at=created[i],
                experience_at_creation=int(experience_draw[i] * (age[i] - 19)),
                update_rate=float(rates[i]),
                skills=tuple(dict.fromkeys(skills)),
                later_skills=tuple(
                    zip(
                        _later_days(created[i], later_days[i, : len(learned)]), learned, strict=True
                    )
                ),
                course_plan=tuple(
                    zip(
                        _later_days(created[i], plan_days[i, : planned[i]]),
                        (float(d) for d in plan_draws[i, : planned[i]]),
                        strict=True,
                    )
                ),
            )
        )
    return tuple(talents)


@lru_cache(maxsize=256)
def _company_block(seed: int, block: int) -> tuple[Company, ...]:
    rng = _rng(seed, _KIND["company"], block)
    size = BLOCK
    industries = _weighted(rng, np.cumsum(INDUSTRY_SHARES), size)
    word, kind, form = rng.random((3, size))
    district = _weighted(rng, DISTRICT_SHARES, size)
    employees = np.clip(rng.lognormal(3.0, 1.4, size), 1, 50_000).astype(int)
    growth = np.clip(rng.normal(1.05, 0.1, size), 0.8, 1.3)
    created = _created_moments(rng, "company", size)
    rates = UPDATE_RATE["company"] * rng.lognormal(-0.18, 0.6, size)
    companies = []
    for i in range(size):
        industry = INDUSTRIES[int(industries[i])]
        kinds = INDUSTRY_WORDS[industry]
        name = (
            f"{COMPANY_WORDS[int(word[i] * len(COMPANY_WORDS))]} {kinds[int(kind[i] * len(kinds))]}"
            f" {LEGAL_FORMS[int(form[i] * len(LEGAL_FORMS))]}"
        )
        companies.append(
            Company(
                index=block * BLOCK + i,
                industry=industry,
                name=name.strip(),
                district=int(district[i]),
                employees=int(employees[i]),
                yearly_growth=float(growth[i]),
                created_at=created[i],
                update_rate=float(rates[i]),
            )
        )
    return tuple(companies)


@lru_cache(maxsize=64)
def _course_block(seed: int, block: int) -> tuple[Course, ...]:
    rng = _rng(seed, _KIND["course"], block)
    size = BLOCK
    professions = _weighted(rng, TALENT_SHARES, size)
    hours = rng.choice([16, 24, 36, 48, 72, 96, 144, 240], size)
    formats = _weighted(rng, _cumulative([0.5, 0.3, 0.2]), size)
    created = _created_moments(rng, "course", size)
    rates = UPDATE_RATE["course"] * rng.lognormal(-0.18, 0.6, size)
    courses = []
    for i in range(size):
        profession = PROFESSIONS[int(professions[i])]
        main = _one(rng, profession.skills)
        others = tuple(s for s in profession.skills if s != main)
        skills = (main, *_pick(rng, others, int(rng.integers(1, 4))))
        course_format = COURSE_FORMATS[int(formats[i])]
        university = _one(rng, profession.university_names)
        plural = " ".join(w[0].upper() + w[1:] for w in profession.plural.split())
        courses.append(
            Course(
                index=block * BLOCK + i,
                profession=int(professions[i]),
                university=university,
                title=_one(rng, COURSE_TITLES).format(skill=main, Plural=plural),
                description=_one(rng, COURSE_TEXTS).format(
                    hours=int(hours[i]),
                    format=FORMAT_WORDS[course_format],
                    university=university,
                    audience=_one(rng, AUDIENCES).format(plural=profession.plural),
                    activity=_one(rng, profession.activities),
                    skills=_and(skills),
                ),
                skills=skills,
                hours=int(hours[i]),
                format=course_format,
                created_at=created[i],
                update_rate=float(rates[i]),
            )
        )
    return tuple(courses)


@dataclass(frozen=True)
class Population:
    """The talents, companies or courses on the simulated platform at one scale."""

    records: list[Any]
    created: np.ndarray  # ordinal of each record's local day of registration
    update_rates: np.ndarray  # each record's daily probability of a change

    def __len__(self) -> int:
        return len(self.records)


def _population(
    block: Callable[[int, int], tuple[Any, ...]], seed: int, full_scale: int, scale: float
) -> Population:
    n = _count(full_scale, scale)
    records = [r for b in range(-(-n // BLOCK)) for r in block(seed, b)][:n]
    return Population(
        records=records,
        created=np.array([r.created_at.date().toordinal() for r in records], dtype=int),
        update_rates=np.array([r.update_rate for r in records]),
    )


@lru_cache(maxsize=8)
def talents(seed: int, scale: float) -> Population:
    """The platform's talents at a scale (1.0 = the city, ~60,000)."""
    return _population(_talent_block, seed, FULL_SCALE["talent"], scale)


@lru_cache(maxsize=8)
def companies(seed: int, scale: float) -> Population:
    """The platform's employers at a scale (1.0 = the city, ~4,000)."""
    return _population(_company_block, seed, FULL_SCALE["company"], scale)


@lru_cache(maxsize=8)
def courses(seed: int, scale: float) -> Population:
    """The universities' courses on the platform at a scale (1.0 = the city, ~1,500)."""
    return _population(_course_block, seed, FULL_SCALE["course"], scale)


@lru_cache(maxsize=8)
def _courses_by_profession(seed: int, scale: float) -> dict[int, list[Course]]:
    by_profession: dict[int, list[Course]] = {i: [] for i in range(len(PROFESSIONS))}
    for course in courses(seed, scale).records:
        by_profession[course.profession].append(course)
    return by_profession


@lru_cache(maxsize=8)
def _companies_by_industry(seed: int, scale: float) -> dict[str, np.ndarray]:
    records = companies(seed, scale).records
    return {
        industry: np.array([c.index for c in records if c.industry == industry], dtype=int)
        for industry in INDUSTRIES
    }


# -- ground truth for tests ------------------------------------------------------------------
def true_profession(seed: int, entity_id: str) -> str:
    """The hidden profession a talent, job or course was drawn from (never landed)."""
    kind, _, rest = entity_id.partition("-")
    if kind == "TAL":
        index = int(rest)
        return PROFESSIONS[_talent_block(seed, index // BLOCK)[index % BLOCK].profession].key
    if kind == "CRS":
        index = int(rest)
        return PROFESSIONS[_course_block(seed, index // BLOCK)[index % BLOCK].profession].key
    if kind == "JOB":
        day, number = rest.split("-")
        ordinal = datetime.strptime(day, "%Y%m%d").date().toordinal()
        return PROFESSIONS[_job_profession(_rng(seed, _KIND["job"], ordinal, int(number)))].key
    raise ValueError(f"not a UCS talent, job or course id: {entity_id!r}")


# -- texts -------------------------------------------------------------------------------------
def _and(items: tuple[str, ...] | list[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def _years(years: int) -> str:
    return {0: "less than a year", 1: "one year"}.get(years, f"{years} years")


def _a(noun: str) -> str:
    """The noun with its indefinite article: "an Accountant", "an HR Manager", "a UX Designer"."""
    spoken_vowel = noun[0] in "AEIOaeio" or noun.startswith(("HR ", "SMM ", "ETL ", "QA "))
    return ("an " if spoken_vowel else "a ") + noun


def profile_text(
    rng: np.random.Generator,
    talent: Talent,
    title: str,
    years: int,
    skills: tuple[str, ...],
    courses: list[Course],
) -> str:
    """A talent's free-text profile: who they are, what they do, their skills; no contacts."""
    profession = PROFESSIONS[talent.profession]
    first, second = _pick(rng, profession.activities, 2)
    if rng.random() < 0.5:
        first, second = second, first
    words = {
        "title": title,
        "a_title": _a(title),
        "field": profession.field,
        "industry": INDUSTRY_PHRASES[_one(rng, profession.industries)],
        "experience": _years(years) + " of experience",
        "Experience": _capital(_years(years)) + " of experience",
        "years": _years(years),
        "activity": first,
        "activity2": second,
        "employment": _one(rng, ("full-time", "full-time", "part-time", "remote")),
    }
    shown = _pick(rng, skills, int(rng.integers(3, 6)))
    sentences = [_one(rng, OPENINGS).format(**words)]
    middle = [
        _one(rng, ACTIVITY_SENTENCES).format(**words),
        _one(rng, SKILL_SENTENCES).format(skills=_and(shown)),
    ]
    if rng.random() < 0.6:
        middle.append(_one(rng, profession.achievements))
    if talent.university and rng.random() < 0.7:
        middle.append(f"Holds {LEVEL_WORDS[talent.education]} from {talent.university}.")
    elif talent.education == "vocational" and rng.random() < 0.5:
        middle.append(f"Trained at a vocational college in {profession.field}.")
    if courses and rng.random() < 0.7:
        course = courses[int(rng.integers(len(courses)))]
        middle.append(f"Recently completed the course {course.title} at {course.university}.")
    if talent.second_profession >= 0:
        target = PROFESSIONS[talent.second_profession]
        middle.append(
            f"Now retraining as {_a(target.titles[0])} and learning "
            f"{_and(_pick(rng, target.core_skills, 2))}."
        )
    sentences += [middle[i] for i in rng.permutation(len(middle))]
    if rng.random() < 0.8:
        sentences.append(_one(rng, GOALS).format(**words))
    return " ".join(sentences)


# -- the daily change feed ---------------------------------------------------------------------
def _changed_today(rng: np.random.Generator, population: Population, day: date) -> np.ndarray:
    """Indices of the records created on the day, or existing and changed on it."""
    ordinal = day.toordinal()
    created = population.created
    draws = rng.random(created.size)
    return np.flatnonzero(
        (created == ordinal) | ((created < ordinal) & (draws < population.update_rates))
    )


def _district_spelling(index: int, spelling: int) -> str:
    district = DISTRICTS[index]
    return (district.name, district.aliases[0] + " район", district.aliases[1])[spelling]


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _change_moment(seed: int, kind: str, index: int, created_at: datetime, day: date) -> datetime:
    if created_at.date() == day:
        return created_at
    return _at(_rng(seed, _KIND[kind], _RECORD, index, day.toordinal()), day)


def _frame(contract: Contract, rows: list[dict[str, str | None]]) -> pl.DataFrame:
    schema = dict.fromkeys(contract.column_names, pl.Utf8)
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.sort(contract.timestamp_column, contract.keys[0])


def talent_on(seed: int, scale: float, talent: Talent, day: date) -> dict[str, str | None]:
    """A talent's record as of a day: experience, skills and courses grow, the profile is
    rewritten at each change."""
    profession = PROFESSIONS[talent.profession]
    changed_at = _change_moment(seed, "talent", talent.index, talent.created_at, day)
    years = talent.experience_at_creation + int((day - talent.created_at.date()).days / 365.25)
    courses: list[Course] = []
    pool = _courses_by_profession(seed, scale)[talent.profession]
    for taken, draw in talent.course_plan:
        if taken > day or not pool:
            continue
        course = pool[int(draw * len(pool))]
        if course.created_at.date() <= taken and course not in courses:
            courses.append(course)
    skills = list(talent.skills)
    skills += [s for learned, s in talent.later_skills if learned <= day]
    skills += [s for c in courses for s in c.skills[:2]]
    skills = list(dict.fromkeys(skills))
    rng = _rng(seed, _KIND["talent"], _RECORD + 1, talent.index, day.toordinal())
    title = _one(rng, profession.titles)
    return {
        "talent_id": talent.talent_id,
        "full_name": talent.full_name,
        "email": talent.email,
        "district": _district_spelling(talent.district, talent.spelling),
        "birth_year": str(talent.birth_year),
        "education_level": talent.education,
        "university": talent.university,
        "skills": LIST_SEPARATOR.join(skills),
        "courses_taken": LIST_SEPARATOR.join(c.course_id for c in courses) or None,
        "years_experience": str(min(years, 60)),
        "profile_text": profile_text(rng, talent, title, years, tuple(skills), courses),
        "created_at": _stamp(talent.created_at),
        "updated_at": _stamp(changed_at),
    }


def simulate_talents_day(day: date, seed: int = 42, scale: float = 1.0) -> pl.DataFrame:
    """The talents created or changed on a day, as the platform exports them (strings)."""
    everyone = talents(seed, scale)
    rng = _rng(seed, _KIND["talent"], _UPDATES, day.toordinal())
    changed = _changed_today(rng, everyone, day)
    rows = [talent_on(seed, scale, everyone.records[i], day) for i in changed]
    return _frame(UCS_TALENTS, rows)


def simulate_companies_day(day: date, seed: int = 42, scale: float = 1.0) -> pl.DataFrame:
    """The companies registered or changed on a day (head count, office district)."""
    everyone = companies(seed, scale)
    rng = _rng(seed, _KIND["company"], _UPDATES, day.toordinal())
    rows = []
    for i in _changed_today(rng, everyone, day):
        company = everyone.records[i]
        years = (day - company.created_at.date()).days / 365.25
        rows.append(
            {
                "company_id": company.company_id,
                "name": company.name,
                "industry": company.industry,
                "district": DISTRICTS[company.district].name,
                "employees": str(
                    int(np.clip(company.employees * company.yearly_growth**years, 1, 100_000))
                ),
                "created_at": _stamp(company.created_at),
                "updated_at": _stamp(
                    _change_moment(seed, "company", company.index, company.created_at, day)
                ),
            }
        )
    return _frame(UCS_COMPANIES, rows)


def simulate_courses_day(day: date, seed: int = 42, scale: float = 1.0) -> pl.DataFrame:
    """The courses published or changed on a day (hours and format get revised)."""
    everyone = courses(seed, scale)
    rng = _rng(seed, _KIND["course"], _UPDATES, day.toordinal())
    rows = []
    for i in _changed_today(rng, everyone, day):
        course = everyone.records[i]
        revision = _rng(seed, _KIND["course"], _RECORD, course.index, day.toordinal())
        hours, course_format = course.hours, course.format
        if course.created_at.date() != day and revision.random() < 0.3:
            hours = int(hours * revision.choice([0.75, 1.25, 1.5]))
            course_format = str(revision.choice(COURSE_FORMATS))
        rows.append(
            {
                "course_id": course.course_id,
                "university": course.university,
                "title": course.title,
                "description": course.description,
                "skills_taught": LIST_SEPARATOR.join(course.skills),
                "hours": str(hours),
                "format": course_format,
                "created_at": _stamp(course.created_at),
                "updated_at": _stamp(
                    _change_moment(seed, "course", course.index, course.created_at, day)
                ),
            }
        )
    return _frame(UCS_COURSES, rows)


def _job_profession(rng: np.random.Generator) -> int:
    return int(_weighted(rng, JOB_SHARES, 1)[0])  # the first draw of a job's stream


def _job_description(
    rng: np.random.Generator,
    profession: Profession,
    title: str,
    industry: str,
    required: tuple[str, ...],
    nice: tuple[str, ...],
    min_years: int,
) -> str:
    activities = [profession.activities[i] for i in rng.permutation(len(profession.activities))]
    company = _one(rng, COMPANY_PHRASES).format(industry=INDUSTRY_PHRASES[industry])
    sentences = [
        _one(rng, JOB_INTROS).format(
            company=company,
            company_lower=company[0].lower() + company[1:],
            title=title,
            a_title=_a(title),
            activity=activities[0],
            field=profession.field,
        ),
        f"Responsibilities: {activities[1]}; {activities[2]}.",
        _one(rng, REQUIREMENTS).format(skills=_and(required)),
    ]
    if min_years:
        sentences.append(f"At least {min_years} years of experience in {profession.field}.")
    if nice:
        sentences.append(_one(rng, NICE_TO_HAVE).format(skills=_and(nice)))
    benefits = _pick(rng, BENEFITS, int(rng.integers(2, 4)))
    sentences.append(_one(rng, OFFERS).format(benefits=_and(benefits)))
    return " ".join(sentences)


def _posting(seed: int, scale: float, day: date, number: int) -> Posting | None:
    rng = _rng(seed, _KIND["job"], day.toordinal(), number)
    profession_index = _job_profession(rng)
    profession = PROFESSIONS[profession_index]
    employers = companies(seed, scale)
    posted_at = _at(rng, day, (9, 19))
    industry = _one(rng, profession.industries)
    existing = employers.created <= day.toordinal()
    candidates = _companies_by_industry(seed, scale)[industry]
    candidates = candidates[existing[candidates]]
    if candidates.size == 0:  # a small city may lack the industry: any employer will do
        candidates = np.flatnonzero(existing)
    if candidates.size == 0:
        return None
    company = employers.records[int(candidates[rng.integers(candidates.size)])]
    seniority = int(_weighted(rng, SENIORITY_SHARES, 1)[0])
    title = ("Junior ", "", "Senior ")[seniority] + _one(rng, profession.titles)
    required = _pick(
        rng, profession.core_skills, int(rng.integers(3, len(profession.core_skills) + 1))
    )
    nice = _pick(rng, profession.extra_skills, int(rng.integers(0, 3)))
    if rng.random() < 0.3:
        nice += _pick(rng, GENERIC_SKILLS, 1)
    pay = profession.salary_kzt * (0.6, 1.0, 1.5)[seniority] * rng.uniform(0.85, 1.0)
    low = int(round(pay, -4))
    salary = (low, int(round(low * rng.uniform(1.2, 1.6), -4)))
    lifetime = int(rng.integers(JOB_LIFETIME_DAYS[0], JOB_LIFETIME_DAYS[1] + 1))
    edit = int(rng.integers(1, lifetime)) if rng.random() < JOB_EDIT_SHARE else None
    return Posting(
        job_id=f"JOB-{day:%Y%m%d}-{number:04d}",
        profession=profession_index,
        company_id=company.company_id,
        title=title,
        description=_job_description(
            rng, profession, title, industry, required, nice, (0, 2, 5)[seniority]
        ),
        skills=required + nice,
        district=company.district if rng.random() < 0.85 else int(rng.integers(len(DISTRICTS))),
        salary=None if rng.random() < NEGOTIABLE_SHARE else salary,
        employment_type=EMPLOYMENT_TYPES[int(_weighted(rng, EMPLOYMENT_SHARES, 1)[0])],
        posted_at=posted_at,
        lifetime_days=lifetime,
        edit_after_days=edit,
    )


@lru_cache(maxsize=160)
def postings(seed: int, scale: float, day: date) -> tuple[Posting, ...]:
    """The jobs posted on a day."""
    rng = _rng(seed, _KIND["job"], day.toordinal())
    n = int(rng.poisson(POSTINGS_PER_DAY * scale * POSTING_WEEKDAY[day.weekday()]))
    found = (_posting(seed, scale, day, k) for k in range(n))
    return tuple(p for p in found if p is not None)


@dataclass(frozen=True)
class JobEvent:
    posting: Posting
    status: str
    changed_at: datetime
    edited: bool  # the posting was edited by then (its salary offer raised)


def _job_events(seed: int, scale: float, day: date) -> Iterator[JobEvent]:
    """Every job posted, edited or closed on a day."""
    for posting in postings(seed, scale, day):
        yield JobEvent(posting, "open", posting.posted_at, edited=False)
    for back in range(1, JOB_LIFETIME_DAYS[1] + 1):
        for posting in postings(seed, scale, day - timedelta(days=back)):
            number = int(posting.job_id.rsplit("-", 1)[1])
            moment = _at(_rng(seed, _KIND["job"], _RECORD, day.toordinal(), back, number), day)
            if posting.lifetime_days == back:
                yield JobEvent(posting, "closed", moment, posting.edit_after_days is not None)
            elif posting.edit_after_days == back:
                yield JobEvent(posting, "open", moment, edited=True)


def simulate_jobs_day(day: date, seed: int = 42, scale: float = 1.0) -> pl.DataFrame:
    """The job postings posted, edited or closed on a day."""
    rows = []
    for event in _job_events(seed, scale, day):
        posting, salary = event.posting, event.posting.salary
        if salary is not None and event.edited:  # an edit raises the offer a little
            salary = (int(round(salary[0] * 1.05, -4)), int(round(salary[1] * 1.05, -4)))
        rows.append(
            {
                "job_id": posting.job_id,
                "company_id": posting.company_id,
                "title": posting.title,
                "description": posting.description,
                "required_skills": LIST_SEPARATOR.join(posting.skills),
                "district": DISTRICTS[posting.district].name,
                "salary_min_kzt": None if salary is None else str(salary[0]),
                "salary_max_kzt": None if salary is None else str(salary[1]),
                "employment_type": posting.employment_type,
                "status": event.status,
                "posted_at": _stamp(posting.posted_at),
                "updated_at": _stamp(event.changed_at),
            }
        )
    return _frame(UCS_JOBS, rows)


# -- file drops ---------------------------------------------------------------------------------
def land_changes(
    lake: Lake, contract: Contract, day: date, frame: pl.DataFrame, stem: str, fmt: str
) -> tuple[str, int]:
    """Drop a day's changes as the platform would; (uri, rows).

    A day without changes lands a CSV holding only the header, so the day is accounted for
    (zero rows in, zero accepted) rather than missing.
    """
    if frame.height == 0:
        return land_file(lake, contract, day, frame, stem, "csv")
    if fmt != "parquet":
        return land_file(lake, contract, day, frame, stem, fmt)
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    path = f"{contract.landing_prefix}/{day.isoformat()}/{stem}_{day:%Y%m%d}.parquet"
    return lake.put_file(path, buffer.getvalue()), frame.height


def write_talents_day(lake: Lake, day: date, seed: int = 42, scale: float = 1.0) -> tuple[str, int]:
    frame = simulate_talents_day(day, seed, scale)
    return land_changes(lake, UCS_TALENTS, day, frame, "talents", "jsonl")


def write_companies_day(
    lake: Lake, day: date, seed: int = 42, scale: float = 1.0
) -> tuple[str, int]:
    frame = simulate_companies_day(day, seed, scale)
    return land_changes(lake, UCS_COMPANIES, day, frame, "companies", "csv")


def write_jobs_day(lake: Lake, day: date, seed: int = 42, scale: float = 1.0) -> tuple[str, int]:
    frame = simulate_jobs_day(day, seed, scale)
    return land_changes(lake, UCS_JOBS, day, frame, "jobs", "jsonl")


def write_courses_day(lake: Lake, day: date, seed: int = 42, scale: float = 1.0) -> tuple[str, int]:
    frame = simulate_courses_day(day, seed, scale)
    return land_changes(lake, UCS_COURSES, day, frame, "courses", "parquet")


SIMULATORS: dict[str, Callable[[date, int, float], pl.DataFrame]] = {
    UCS_TALENTS.table: simulate_talents_day,
    UCS_COMPANIES.table: simulate_companies_day,
    UCS_JOBS.table: simulate_jobs_day,
    UCS_COURSES.table: simulate_courses_day,
}


def simulator_feed(seed: int, scale: float) -> Callable[[str, date], pl.DataFrame]:
    """The simulated platform as `(table, day) -> changes`, for the API server to serve."""

    def feed(table: str, day: date) -> pl.DataFrame:
        return SIMULATORS[table](day, seed, scale)

    return feed


# -- sources --------------------------------------------------------------------------------------
def api_fetcher(contract: Contract) -> LandingFetcher:
    """Pull a day of a table from the platform's API when `LAKEHOUSE_UCS_API_URL` is set."""

    def fetch(lake: Lake, day: date, settings: LakehouseSettings) -> tuple[str, int] | None:
        if not settings.ucs_api_url:
            return None
        # Imported here: the API module serves this module's simulator.
        from pipelines.sources.ucs_api import fetch_day

        token = settings.ucs_api_token.get_secret_value() or None
        return fetch_day(lake, contract, settings.ucs_api_url, day, token=token)

    return fetch


TALENTS = Source(
    name="ucs_talents",
    description="UCS talents (skills, education, courses, profile), changed per day.",
    contract=UCS_TALENTS,
    write_landing_day=write_talents_day,
    build_silver=build_talents_silver,
    build_silver_duckdb=build_talents_silver_duckdb,
    silver_tables=(UCS_TALENTS.table, TALENT_SKILLS.table),
    group="ucs",
    fetch_landing_day=api_fetcher(UCS_TALENTS),
)
COMPANIES = Source(
    name="ucs_companies",
    description="UCS employers (industry, district, head count), changed per day.",
    contract=UCS_COMPANIES,
    write_landing_day=write_companies_day,
    build_silver=build_companies_silver,
    build_silver_duckdb=build_companies_silver_duckdb,
    silver_tables=(UCS_COMPANIES.table,),
    group="ucs",
    fetch_landing_day=api_fetcher(UCS_COMPANIES),
)
JOBS = Source(
    name="ucs_jobs",
    description="UCS job postings (title, description, required skills, salary), per day.",
    contract=UCS_JOBS,
    write_landing_day=write_jobs_day,
    build_silver=build_jobs_silver,
    build_silver_duckdb=build_jobs_silver_duckdb,
    silver_tables=(UCS_JOBS.table, JOB_SKILLS.table),
    group="ucs",
    fetch_landing_day=api_fetcher(UCS_JOBS),
)
COURSES = Source(
    name="ucs_courses",
    description="UCS university courses (skills taught, hours, format), changed per day.",
    contract=UCS_COURSES,
    write_landing_day=write_courses_day,
    build_silver=build_courses_silver,
    build_silver_duckdb=build_courses_silver_duckdb,
    silver_tables=(UCS_COURSES.table,),
    group="ucs",
    fetch_landing_day=api_fetcher(UCS_COURSES),
)
SOURCES = (TALENTS, COMPANIES, JOBS, COURSES)

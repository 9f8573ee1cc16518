with districts as (

    select * from {{ ref('districts') }}

),

-- Central: the old city with most of the jobs; residential: the dense mid-ring;
-- peripheral: the outer districts, Alatau and Nauryzbay joined the city in 2008 and 2014.
area_types (district_code, area_type) as (

    values
        ('ALM', 'central'),
        ('MED', 'central'),
        ('BOS', 'central'),
        ('AUE', 'residential'),
        ('ZHE', 'residential'),
        ('ALT', 'peripheral'),
        ('NAU', 'peripheral'),
        ('TUR', 'peripheral')

),

final as (

    select
        districts.district_code,
        districts.district,
        districts.population_2020,
        round(districts.population_2020 / sum(districts.population_2020) over (), 4)
            as population_share,
        coalesce(area_types.area_type, 'unclassified') as area_type,
        coalesce(area_types.area_type, 'unclassified') = 'central' as is_central,
    from districts
    left join area_types using (district_code)

)

select * from final

{#
    Every stop of every loaded GTFS feed version, described by the latest version that has it;
    stops dropped from the current feed stay, flagged.
#}
with stops as (

    select * from {{ ref('stg_transit__stops') }}

),

patterns as (

    select * from {{ ref('stg_transit__route_patterns') }}

),

current_feed as (

    select max(feed_version) as feed_version from stops

),

latest_version as (

    select
        stop_id,
        min(feed_version) as first_feed_version,
        max(feed_version) as feed_version,
    from stops
    group by all

),

serving as (

    select
        feed_version,
        stop_id,
        count(distinct route_id) as routes_serving,
        string_agg(distinct route_id, ',' order by route_id) as route_ids,
    from patterns
    group by all

),

final as (

    select
        stops.stop_id,
        stops.stop_name,
        stops.stop_lat,
        stops.stop_lon,
        stops.feed_version,
        latest_version.first_feed_version,
        stops.feed_version = current_feed.feed_version as is_in_current_feed,
        coalesce(serving.routes_serving, 0) as routes_serving,
        serving.route_ids,
    from stops
    inner join latest_version using (stop_id, feed_version)
    cross join current_feed
    left join serving using (feed_version, stop_id)

)

select * from final
